"""The full test command: `uv run python tests/run.py [pytest arguments]`.

It runs the whole suite — every tier: the fast one that `uv run pytest` runs, and the
browser, race and process tests — with any pytest arguments given here, twice, side by side:

1. on SQLite, the embedded default (a file database in WAL mode);
2. on PostgreSQL, when one answers at TAPGO_TEST_POSTGRES_URL
   (default postgresql://postgres@127.0.0.1:5432/test; Django creates its own test databases
   beside it, one per worker, and drops them afterwards), with Redis as the cache when one
   answers at TAPGO_TEST_REDIS_URL (default redis://127.0.0.1:6379/15) — the scale-out
   configuration.

Each run is parallel (pytest-xdist, TAPGO_TEST_WORKERS workers each, default: as many as
the machine has cores; a test file's tests run together on one worker, `--dist loadfile` in
pyproject's addopts, since a module's world built once in a transaction (discovery's search
tests) must not have another file's transactional test run in the middle of it). Much of
the suite waits on browsers, servers and sleeps, so the two runs side by side finish sooner
than one after the other. TAPGO_TEST_SIDE_BY_SIDE=0 runs them
one after the other. A run's output is printed whole when it ends, with a line a minute
meanwhile.

Browser tests (tests/browser/) need Chromium at /usr/bin/chromium or TAPGO_CHROMIUM.

On a machine without PostgreSQL or Chromium it runs everything it can and says loudly what it
could not run and how to get it. Under CI (CI=true) a part that cannot run is a failure.
The exit code is non-zero when any run fails; the last line is the combined count.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
# Database 15: the tests empty their cache, so they keep to a database of their own.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def chromium_missing() -> str | None:
    path = Path(os.environ.get("TAPGO_CHROMIUM") or "/usr/bin/chromium")
    if path.is_file() and os.access(path, os.X_OK):
        return None
    return (
        f"Chromium was not found at {path}, so the browser tests were skipped.\n"
        "Get it with:  apt-get install chromium fonts-noto-cjk\n"
        "(or point TAPGO_CHROMIUM at a Chromium binary)"
    )


def postgres_missing(url: str) -> str | None:
    """None when a PostgreSQL server answers at url, else why not and how to get one."""
    import psycopg

    error = None
    # The named database need not exist: Django makes its test database from `postgres`.
    for dbname in (None, "postgres"):
        try:
            options = {"connect_timeout": 3}
            if dbname:
                options["dbname"] = dbname
            with psycopg.connect(url, **options):
                return None
        except psycopg.Error as exc:
            error = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
    return (
        f"PostgreSQL did not answer at {url},\n"
        "so the suite ran on SQLite only.\n"
        f"  ({error[:120]})\n"
        "Get it with:  apt-get install postgresql && pg_ctlcluster <version> main start\n"
        "(local connections need trust auth for the postgres user, or set "
        "TAPGO_TEST_POSTGRES_URL to a server you have)"
    )


def redis_missing(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return (
            f"Redis did not answer at {url} ({str(exc)[:80]}),\n"
            "so the PostgreSQL run used the in-process cache instead of Redis.\n"
            "Get it with:  apt-get install redis-server && redis-server --daemonize yes\n"
            "(or set TAPGO_TEST_REDIS_URL to a server you have)"
        )
    return None


def counts(junit: Path) -> dict[str, int] | None:
    try:
        root = ET.parse(junit).getroot()  # noqa: S314 (pytest's own file)
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        for key in total:
            total[key] += int(suite.get(key, 0))
    failed = total["failures"] + total["errors"]
    return {
        "passed": total["tests"] - failed - total["skipped"],
        "failed": failed,
        "skipped": total["skipped"],
    }


class Run:
    """One pytest run in the background, its output in a file until it ends."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], tmp: Path):
        self.name = name
        self.junit = tmp / f"{name}.xml"
        self.log = tmp / f"{name}.log"
        workers = env.get("TAPGO_TEST_WORKERS", "auto")
        # Every tier (-m ""), in parallel; the caller's arguments come last and win.
        command = [sys.executable, "-m", "pytest", "-m", "", "-n", workers, *args]
        self.started = time.monotonic()
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(  # noqa: S603 (this interpreter, running pytest)
                [*command, f"--junitxml={self.junit}"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.code: int | None = None
        self.elapsed = 0.0

    def poll(self) -> bool:
        """True once it has ended (and its output has been printed)."""
        if self.code is not None:
            return True
        code = self.process.poll()
        if code is None:
            return False
        self.code, self.elapsed = code, time.monotonic() - self.started
        print(f"\n===== {self.name} =====", flush=True)
        sys.stdout.write(self.log.read_text(errors="replace"))
        if code == 5:
            print(f"{self.name}: pytest collected no tests; a run that tests nothing is a failure.")
        sys.stdout.flush()
        return True

    def result(self) -> tuple[str, int, dict | None, float]:
        code = self.code if self.code is not None else 1
        return self.name, code, counts(self.junit), self.elapsed


def wait_for(runs: list[Run]) -> None:
    last = time.monotonic()
    while not all([run.poll() for run in runs]):
        time.sleep(1)
        if time.monotonic() - last >= 60:
            last = time.monotonic()
            now = time.monotonic()
            busy = ", ".join(f"{r.name} {now - r.started:.0f}s" for r in runs if r.code is None)
            print(f"... still running: {busy}", flush=True)


def banner(lines: list[str]) -> None:
    width = max(len(line) for line in lines) + 4
    print("\n" + "!" * width, flush=True)
    for line in lines:
        print(f"! {line.ljust(width - 4)} !")
    print("!" * width, flush=True)


def run_all(argv, base_env, tmp, started, missing, *, side_by_side: bool) -> list:
    started.append(Run("SQLite", argv, base_env, tmp))
    if not side_by_side:
        wait_for(started)

    postgres_url = os.environ.get("TAPGO_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    postgres = postgres_missing(postgres_url)
    if postgres:
        missing.append(postgres)
    else:
        # The scale-out configuration: PostgreSQL with Redis for cache and rate limits.
        env = dict(base_env, TAPGO_DATABASE_URL=postgres_url)
        redis_url = os.environ.get("TAPGO_TEST_REDIS_URL", DEFAULT_REDIS_URL)
        redis = redis_missing(redis_url)
        if redis:
            missing.append(redis)
        else:
            env["TAPGO_REDIS_URL"] = redis_url
        # Our own test database, so two runs on one server never drop each other's.
        env.setdefault("TAPGO_TEST_DATABASE_NAME", f"test_tapgo_{os.getpid()}")
        started.append(Run("PostgreSQL", argv, env, tmp))
    wait_for(started)
    return [run.result() for run in started]


def main(argv: list[str]) -> int:
    ci = on_ci()
    base_env = dict(os.environ)
    base_env.pop("TAPGO_DATABASE_URL", None)
    base_env.pop("TAPGO_REDIS_URL", None)
    base_env.setdefault("PYTHONUNBUFFERED", "1")

    missing: list[str] = []

    browser = chromium_missing()
    if browser:
        missing.append(browser)

    side_by_side = os.environ.get("TAPGO_TEST_SIDE_BY_SIDE", "1") != "0"
    tmp = Path(tempfile.mkdtemp(prefix="tapgo-tests-"))
    began = time.monotonic()
    started: list[Run] = []
    try:
        runs = run_all(argv, base_env, tmp, started, missing, side_by_side=side_by_side)
    finally:
        for run in started:
            if run.process.poll() is None:  # interrupted: leave no pytest behind
                run.process.terminate()
                run.process.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)
    wall = time.monotonic() - began

    print("\n===== summary =====")
    total = {"passed": 0, "failed": 0, "skipped": 0}
    ok = True
    for name, code, found, elapsed in runs:
        if found is None:
            found = {"passed": 0, "failed": 0, "skipped": 0}
        if code != 0 and found["failed"] == 0:
            found = {**found, "failed": 1}  # the run itself failed (no tests, a crash, ...)
        for key in total:
            total[key] += found[key]
        verdict = "ok" if code == 0 else f"FAILED (pytest exit code {code})"
        ok = ok and code == 0
        print(
            f"{name}: {found['passed']} passed, {found['failed']} failed, "
            f"{found['skipped']} skipped in {elapsed:.1f}s: {verdict}"
        )

    if missing:
        heading = (
            "CI=true: THESE PARTS OF THE SUITE COULD NOT RUN, SO THE RUN FAILS:"
            if ci
            else "NOT EVERYTHING RAN ON THIS MACHINE:"
        )
        lines = [heading, ""]
        for text in missing:
            lines.extend(text.splitlines())
            lines.append("")
        banner(lines[:-1])
        if ci:
            ok = False
            total["failed"] += len(missing)

    print(
        f"total: {total['passed']} passed, {total['failed']} failed, {total['skipped']} skipped"
        f" in {wall:.0f}s"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
