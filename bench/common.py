"""What every benchmark here does the same way: its command line's shared options, a fresh
database per run, child processes that answer in JSON, Django inside them, percentiles, and
its figures in bench/results.json.

bench/ is not a package: each script runs with bench/ first on sys.path, so `import common`.
"""

import argparse
import base64
import contextlib
import datetime
import http.client
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zlib
from importlib.metadata import version
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlencode

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
HOST = "127.0.0.1"
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# The keys of results.json that bench/run.py keeps: the benchmarks that write their own part.
PARTS = ("payments", "nearby", "codes", "search", "notify", "history", "tables", "coupons")


# --- the command line ------------------------------------------------------------------------


def arguments(doc: str, *, databases: bool = True) -> argparse.ArgumentParser:
    """A parser with the options every benchmark has: --out, and unless it needs no database
    --db, --postgres-url and --keep-database. The docstring's first paragraph describes it."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    if databases:
        parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
        parser.add_argument(
            "--postgres-url",
            default=os.environ.get("TAPGO_BENCH_POSTGRES_URL", POSTGRES_ADMIN_URL),
            help="a PostgreSQL database to connect to for creating the bench database",
        )
        parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--out", default=str(BENCH / "results.json"))
    return parser


def databases(opts) -> list[str]:
    return ["sqlite", "postgres"] if opts.db == "both" else [opts.db]


# --- a fresh database for each run -----------------------------------------------------------


def postgres_reset(admin_url: str, name: str, *, drop_only: bool = False) -> str:
    """Drop the database `name` (and create it again, empty); its URL."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


@contextlib.contextmanager
def fresh_database(db: str, opts, name: str, **env_vars: str):
    """The environment for the processes of one run on `db`: none of the caller's TAPGO_
    settings, a temporary TAPGO_VAR_DIR (SQLite's database lives there) and for PostgreSQL a
    database `name` of its own, created empty and dropped afterwards (unless
    --keep-database); plus `env_vars`. Nothing is migrated yet."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAPGO_", "DJANGO_SETTINGS"))}
    env.update(TAPGO_LOG_LEVEL="ERROR", **env_vars)
    if db == "postgres":
        env["TAPGO_DATABASE_URL"] = postgres_reset(opts.postgres_url, name)
    var_dir = Path(tempfile.mkdtemp(prefix=f"{name.replace('_', '-')}-{db}-"))
    env["TAPGO_VAR_DIR"] = str(var_dir)
    try:
        yield env
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
        if db == "postgres" and not opts.keep_database:
            postgres_reset(opts.postgres_url, name, drop_only=True)


def child(script: str | Path, env: dict, *args: str) -> dict:
    """Run a bench script in a subprocess with `env` (a fresh database's); the last line it
    prints is JSON, returned. Exits with the end of its stderr when it fails."""
    run = subprocess.run(
        [sys.executable, str(script), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        command = " ".join([Path(script).name, *args])
        raise SystemExit(f"{command} failed:\n{run.stderr[-4000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def setup_django(*, migrate: bool = False) -> None:
    """Inside a child: Django on the database its environment names (migrated if asked)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tapgo.settings")
    import django

    django.setup()
    from django.conf import settings

    for path in (settings.VAR_DIR, settings.MEDIA_ROOT):
        path.mkdir(parents=True, exist_ok=True)
    if migrate:
        from django.core.management import call_command

        call_command("migrate", "--noinput", verbosity=0)


# --- a phone over HTTP ------------------------------------------------------------------------


class Answer(NamedTuple):
    status: int
    location: str
    body: bytes
    messages: list[tuple[int, str]]  # the flash messages it set: (level, text)


class Client:
    """One keep-alive connection to the server, as a phone's browser keeps one. `jar` is the
    cookies of the phone it speaks for: a client can speak for many phones, one at a time."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)

    def request(self, jar: dict, method: str, path: str, form: dict | None = None) -> Answer:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = jar.get("csrftoken", "")
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        data = response.read()
        for line in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = line.partition("=")
            jar[name.strip()] = rest.split(";", 1)[0]
        # Flash messages are read once, as the next page would.
        messages = flash_messages(jar.pop("messages", ""))
        return Answer(response.status, response.headers.get("Location", ""), data, messages)


def flash_messages(cookie: str) -> list[tuple[int, str]]:
    """(level, text) of each message in Django's messages cookie (its signed payload read
    without checking the signature: the bench only looks at what the server said)."""
    payload = cookie.strip('"').split(":", 1)[0]
    if not payload:
        return []
    compressed = payload.startswith(".")
    data = base64.urlsafe_b64decode(payload.lstrip(".") + "=" * (-len(payload) % 4))
    if compressed:
        data = zlib.decompress(data)
    found = json.loads(data)
    return [(m[2], m[3]) for m in found if isinstance(m, list) and m[:1] == ["__json_message"]]


# --- figures ---------------------------------------------------------------------------------


def p99(ordered: list[float]) -> float:
    """The 99th percentile of sorted values: the value 99% of them are at or below."""
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


def versions(*packages: str) -> dict:
    return {"python": platform.python_version(), **{name: version(name) for name in packages}}


def start_figures(script: str, argv: list[str] | None) -> dict:
    """The head of a benchmark's figures: when, the command that made them, the machine."""
    return {
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": f"uv run python bench/{script} "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "load_average_at_start": list(os.getloadavg())},
    }


def end_figures(figures: dict, *, seconds: bool = False) -> dict:
    """The load average at the end and, if asked, the seconds since "generated_at"."""
    figures["machine"]["load_average_at_end"] = list(os.getloadavg())
    if seconds:
        started = datetime.datetime.fromisoformat(figures["generated_at"])
        figures["seconds"] = round((datetime.datetime.now(datetime.UTC) - started).total_seconds())
    return figures


def run_databases(name: str, opts, figures: dict, bench_database, failures=None) -> int:
    """Run `bench_database(db, opts, tmp_dir)` on each database asked for, then finish and save
    the figures under `name`. `failures(figures)` lists what did not work (by default the
    databases whose result is not "ok"); the exit status is 1 when anything did not."""
    figures["databases"] = {}
    with tempfile.TemporaryDirectory(prefix=f"tapgo-bench-{name}-") as tmp:
        for db in databases(opts):
            figures["databases"][db] = bench_database(db, opts, Path(tmp))
    end_figures(figures, seconds=True)
    save(opts.out, name, figures)
    if failures is None:
        failed = [db for db, result in figures["databases"].items() if not result["ok"]]
    else:
        failed = failures(figures)
    if failed:
        print("Something did not work on: " + ", ".join(failed))
    return 1 if failed else 0


def save(path: str | Path, key: str | None, figures: dict) -> None:
    """Write `figures` to results.json under `key`, keeping what the other benchmarks wrote
    there; with no key (bench/run.py's figures) at the top, keeping the PARTS."""
    path = Path(path)
    try:
        results = json.loads(path.read_text())
    except (OSError, ValueError):
        results = {}
    if key:
        results[key] = figures
    else:
        results = figures | {part: results[part] for part in PARTS if part in results}
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    where = f' (under "{key}")' if key else ""
    print(f"Figures written to {os.path.relpath(path, ROOT)}{where}")
