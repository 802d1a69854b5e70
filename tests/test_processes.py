"""Tapgo as a user runs it: `tapgo serve` and `tapgo worker` as real processes, over HTTP.

A customer scans, orders and approves on the sandbox page; only the worker's signed webhook,
sent over HTTP to the server, marks the order paid. A second order left unpaid expires
through the worker's deferred task and gives its stock back. Runs on the database the suite
runs on (a database of its own on PostgreSQL).
"""

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager

PAY_SECONDS = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp_path, port) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"TAPGO_TASKS_IMMEDIATE", "TAPGO_SANDBOX_WEBHOOK_BASE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        TAPGO_VAR_DIR=str(tmp_path / "var"),
        TAPGO_PUBLIC_URL=f"http://127.0.0.1:{port}",
        TAPGO_ORDER_PAYMENT_SECONDS=str(PAY_SECONDS),
    )
    url = os.environ.get("TAPGO_DATABASE_URL")
    if url:
        import psycopg

        base = urllib.parse.urlsplit(url)
        name = "tapgo_process_test"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
        env["TAPGO_DATABASE_URL"] = urllib.parse.urlunsplit(base._replace(path="/" + name))
    return env


def _tapgo(env, *args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "tapgo.cli", *args], env=env, check=True, timeout=120, **kwargs
    )


def _django_print(env, code: str) -> str:
    """Run Python against the processes' database; the last word it printed."""
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "tapgo.settings"},
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.split()[-1]


@contextmanager
def _running(env, port):
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tapgo.cli", "serve", "--port", str(port), "--workers", "1"],
            env=env,
            start_new_session=True,
        ),
        subprocess.Popen(
            [sys.executable, "-m", "tapgo.cli", "worker"], env=env, start_new_session=True
        ),
    ]
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError("tapgo serve did not start") from None
                time.sleep(0.2)
        yield
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, 15)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, 9)


class Browser:
    """Just enough of a browser: cookies, redirects, CSRF tokens."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[str, str]:
        with self.opener.open(self.base + path, timeout=15) as r:
            return r.geturl(), r.read().decode()

    def post(self, path: str, data: dict, page: str) -> tuple[str, str]:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **data}).encode()
        request = urllib.request.Request(
            self.base + path, data=body, headers={"Referer": self.base + path}
        )
        with self.opener.open(request, timeout=15) as r:
            return r.geturl(), r.read().decode()


def _order(customer: Browser, code: str, product_name: str) -> str:
    _url, menu = customer.get(f"/s/{code}")
    item = re.search(
        r'id="p-([a-z0-9]+)"[^>]*>(?:(?!</article>).)*?<h3>(?:<a [^>]*>)?'
        + re.escape(product_name),
        menu,
        re.S,
    )[1]
    customer.post("/m/harbour-cafe/cart/add", {"item": item}, menu)
    _url, cart = customer.get("/m/harbour-cafe/cart/")
    key = re.search(r'name="checkout_key" value="([^"]+)"', cart)[1]
    url, pay_page = customer.post(
        "/m/harbour-cafe/checkout", {"checkout_key": key, "fulfilment": "dine_in"}, cart
    )
    assert "/payments/sandbox/" in url, url
    return url, pay_page


def _status(customer: Browser, order_url: str) -> str:
    _url, page = customer.get(urllib.parse.urlsplit(order_url).path)
    return re.search(r'data-testid="order-status" data-status="([a-z_]+)"', page)[1]


def _wait_for(customer, order_url, status, seconds):
    deadline = time.monotonic() + seconds
    while (seen := _status(customer, order_url)) != status:
        assert time.monotonic() < deadline, f"order stayed {seen}, expected {status}"
        time.sleep(0.3)


def test_serve_and_worker_take_an_order_from_scan_to_paid_and_expire_the_unpaid(tmp_path):
    port = _free_port()
    env = _env(tmp_path, port)
    _tapgo(env, "migrate", "--noinput", "-v0")
    seed = (
        "import django; django.setup(); from tapgo import demo; "
        "from tapgo.catalog.models import Product; "
        "info = demo.seed(); Product.objects.filter(name='Croissant').update(stock=5); "
        "print(info['table1'].code)"
    )
    code = _django_print(env, seed)
    with _running(env, port):
        base = f"http://127.0.0.1:{port}"
        paying, leaving = Browser(base), Browser(base)

        url, pay_page = _order(paying, code, "Oat Latte")
        order_url, _page = paying.post(
            urllib.parse.urlsplit(url).path, {"decision": "approve"}, pay_page
        )
        # Paid only once the worker has delivered the sandbox's signed webhook to the server.
        _wait_for(paying, order_url, "paid", PAY_SECONDS)

        url, _pay_page = _order(leaving, code, "Croissant")
        _url, unpaid = leaving.get(urllib.parse.urlsplit(url).path)
        unpaid_order = re.search(r'href="(/m/harbour-cafe/orders/[a-z0-9]+/)"', unpaid)[1]
        assert _status(leaving, unpaid_order) == "pending_payment"
        _wait_for(leaving, unpaid_order, "expired", PAY_SECONDS + 15)

    check = (
        "import django; django.setup(); from tapgo.catalog.models import Product; "
        "print(Product.objects.get(name='Croissant').stock)"
    )
    stock = _django_print(env, check)
    assert stock == "5"  # the expired order gave its croissant back
