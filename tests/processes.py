"""What the tests that start real `tapgo` processes share (test_processes.py, test_crash.py,
test_notify_crash.py): their environment, with a database and cache keys of their own, and a
few helpers to drive them.

The `process_env` fixture gives the processes their own var directory, on PostgreSQL a
database of their own (created here, dropped after) and on Redis a key prefix of their own:
parallel test workers, and the SQLite and PostgreSQL runs side by side, each start processes
of their own at the same time.
"""

import http.cookiejar
import os
import re
import secrets
import socket
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest

# Settings of the test run itself that real processes must not inherit.
NOT_INHERITED = {
    "TAPGO_TASKS_IMMEDIATE",
    "TAPGO_SANDBOX_WEBHOOK_BASE_URL",
    "DJANGO_SETTINGS_MODULE",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _admin(url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.fixture
def process_env(tmp_path, request):
    """The environment for `tapgo` processes (add their own settings to it)."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    # Per test, not per worker: a test's cached pages outlive it, and the next test's
    # database has the same ids in it.
    own = f"tapgo_proc_{secrets.token_hex(6)}"
    env.update(TAPGO_VAR_DIR=str(tmp_path / "var"), TAPGO_CACHE_PREFIX=own)
    url = os.environ.get("TAPGO_DATABASE_URL")
    if url:
        _admin(url, f"DROP DATABASE IF EXISTS {own} WITH (FORCE)", f"CREATE DATABASE {own}")
        base = urllib.parse.urlsplit(url)
        env["TAPGO_DATABASE_URL"] = urllib.parse.urlunsplit(base._replace(path="/" + own))
    yield env
    if url:
        _admin(url, f"DROP DATABASE IF EXISTS {own} WITH (FORCE)")
    if os.environ.get("TAPGO_REDIS_URL"):
        import redis

        client = redis.Redis.from_url(os.environ["TAPGO_REDIS_URL"])
        keys = list(client.scan_iter(match=f"{own}:*", count=1000))
        if keys:
            client.delete(*keys)


def tapgo(env, *args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "tapgo.cli", *args], env=env, check=True, timeout=120, **kwargs
    )


def django_print(env, code: str) -> str:
    """Run Python against the processes' database; the last word it printed."""
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "tapgo.settings"},
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.split()[-1]


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
