"""A Web Push service on loopback for the tests and bench/: it takes pushes as a real push
service does (RFC 8030: POST to the subscription's endpoint, 201 Created), and a `Device`
decrypts them (RFC 8291, aes128gcm) with the subscription's private key, as the browser would.

    with PushEndpoint() as service:
        phone = Device(service.url("/phone"))      # a subscription: endpoint + keys
        ...                                        # Tapgo sends a push to it
        payload = phone.decrypt(service.received("/phone")[0].body)

`service.answer("/gone", 410)` makes an endpoint answer as an expired subscription does;
`service.answer("/moved", 301, location=service.url("/else"))` makes it redirect (a GET, which
no push service gets, is recorded too, so a followed redirect shows in `received`);
`service.delay = 0.5` makes every answer slow (to kill a worker mid-delivery).

As a pytest plugin (root conftest.py) it gives the fixture `push_endpoint`.
"""

import base64
import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Push:
    path: str
    headers: dict  # names in lower case
    body: bytes
    at: float = field(default_factory=time.monotonic)
    method: str = "POST"


class PushEndpoint:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.pushes: list[Push] = []
        self.answers: dict[str, int] = {}
        self.locations: dict[str, str] = {}
        self.connections: set[socket.socket] = set()
        self.delay = 0.0
        self.lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a push service; closed on exit

            def setup(self):
                super().setup()
                with service.lock:
                    service.connections.add(self.connection)

            def finish(self):
                with service.lock:
                    service.connections.discard(self.connection)
                super().finish()

            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if service.delay:
                    time.sleep(service.delay)
                status = service.answers.get(self.path, 201)
                if status < 300:
                    with service.lock:
                        headers = {k.lower(): v for k, v in self.headers.items()}
                        service.pushes.append(Push(self.path, headers, body, method=self.command))
                self.send_response(status)
                if self.path in service.locations:
                    self.send_header("Location", service.locations[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST  # noqa: N815 (a client following a 301/302 comes back with GET)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "PushEndpoint":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        # A client keeping its connection alive would hold its handler thread for ever.
        with self.lock:
            open_connections = list(self.connections)
        for connection in open_connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def answer(self, path: str, status: int, location: str | None = None) -> None:
        self.answers[path] = status
        if location is not None:
            self.locations[path] = location

    def received(self, path: str | None = None) -> list[Push]:
        with self.lock:
            return [p for p in self.pushes if path is None or p.path == path]

    def wait_for(self, count: int, path: str | None = None, timeout: float = 30) -> list[Push]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received(path)
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"{len(self.received(path))} pushes arrived, not {count}")


class Device:
    """A browser's push subscription: a P-256 key pair and a 16-byte auth secret."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.p256dh = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def subscription(self) -> dict:
        """What PushSubscription.toJSON() gives a page."""
        return {
            "endpoint": self.endpoint,
            "keys": {"p256dh": _b64(self.p256dh), "auth": _b64(self.auth)},
        }

    def decrypt(self, body: bytes) -> dict:
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
        )
        return json.loads(plain)


@pytest.fixture
def push_endpoint(settings):
    """A loopback push service for one test; Tapgo may push to loopback while it runs."""
    settings.PUSH_ALLOW_LOCAL = True
    with PushEndpoint() as service:
        yield service
