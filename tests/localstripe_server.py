"""localstripe (a fake Stripe API, webhooks and Stripe.js) for the tests, on loopback only.

As a pytest plugin (root conftest.py) it gives the session fixture `localstripe`: the base
URL of a localstripe server started once per test session on a free port of 127.0.0.1. The
fixture fails the test, loudly, when the server cannot start: a Stripe test never passes by
being skipped.

Run as a script (`python tests/localstripe_server.py PORT`) it is that server. Unlike the
`localstripe` command it binds 127.0.0.1 only (the command binds every interface) and keeps
its objects in memory (the command pickles them to the fixed path /tmp/localstripe.pickle,
shared by every instance on the machine).

What localstripe does not do as Stripe does (tests must allow for it): idempotency keys are
ignored; refunds send no webhook; a webhook goes out once, about a second after the call,
to the registration that exists when it is sent; confirming with a payment_method parameter
is not implemented (update the PaymentIntent, then confirm).
"""

import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

START_SECONDS = 20


def serve(port: int) -> None:
    import logging

    from aiohttp import web
    from localstripe import resources, server  # importing server builds server.app

    resources.Store.dump_to_disk = lambda self: None  # memory only: no /tmp/localstripe.pickle
    logging.basicConfig(level=logging.WARNING)
    web.run_app(server.app, host="127.0.0.1", port=port, print=None, access_log=None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, data: dict | None = None, method: str = "POST") -> None:
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(
        url, data=body, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def register_webhook(base: str, *, url: str, secret: str, name: str = "tapgo") -> None:
    """Send every event to url, signed with secret (replaces the registration of that name;
    localstripe cannot delete one, so point it at a dead URL to stop deliveries)."""
    _post(f"{base}/_config/webhooks/{name}", {"url": url, "secret": secret})


def flush(base: str) -> None:
    """Forget every object (webhook registrations stay)."""
    _post(f"{base}/_config/data", method="DELETE")


@pytest.fixture(scope="session")
def localstripe():
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + START_SECONDS
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/js.stripe.com/v3/", timeout=1) as r:
                        r.read()
                    break
                except (urllib.error.URLError, OSError):
                    if process.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        output = log.read().decode(errors="replace")[-4000:]
                        pytest.fail(
                            f"localstripe did not start on {base} (is the dev dependency "
                            f"`localstripe` installed? `uv sync`):\n{output}",
                            pytrace=False,
                        )
                    time.sleep(0.05)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
