"""Tapgo's benchmarks: one command, figures written to bench/results.json.

    uv run python bench/run.py                 # both databases, full runs (about 6 minutes)
    uv run python bench/run.py --quick         # shorter and fewer runs (about 2 minutes)
    uv run python bench/run.py --db sqlite     # or postgres, or both (the default)

For each database: a fresh temporary TAPGO_VAR_DIR (and for PostgreSQL a fresh database),
migrate and `tapgo.demo.seed()`, then `tapgo serve` started as a user starts it. It measures

  1. the first screen of a scanned table code, in Chromium through Playwright: bytes on the
     wire for HTML + CSS + JS and the requests made before the first paint;
  2. scan to first contentful paint on a throttled phone link, cold cache (median of runs);
  3. server time (p50, p99, client side) and requests per second under wrk on loopback for the
     menu page, a returning customer's scan and direct entry, and add-to-cart + checkout,
     next to a minimal Django "hello" served by granian with the same workers and threads.

Then bench/codes.py (in-process, no database): QR code PNGs per second in each download size
and poster render times (A4 and table tent, PNG and PDF); --skip-codes leaves it out.

See bench/README.md for the method and the targets. This is a benchmark, not a test: it
never fails on a slow figure; it exits non-zero only when something did not work (a bad
response, a server that did not start).
"""

import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
from common import BENCH, HOST, ROOT

import browser
from tapgo.cli import granian_command, web_defaults

POSTGRES_BENCH_DB = "tapgo_bench"

TARGETS = {
    "first_screen_bytes": 14 * 1024,
    "requests_before_first_paint": 3,
    "image_max_bytes": 30 * 1024,
    "fcp_ms": 1000,
    "menu_share_of_floor": 0.50,
}


# --- tools ----------------------------------------------------------------------------------


def ensure_tools(*, load: bool, browser_needed: bool) -> None:
    """wrk and Chromium come from Debian; install them when missing and we may (root)."""
    missing = []
    if load and not shutil.which("wrk"):
        missing.append("wrk")
    if browser_needed and not Path(browser.CHROMIUM).exists():
        missing.append("chromium")
    if not missing:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"Installing {' '.join(missing)} with apt-get …", flush=True)
        quiet = {"stdout": subprocess.DEVNULL}
        subprocess.run(["apt-get", "update", "-qq"], check=True, **quiet)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
            check=True,
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
            **quiet,
        )
        return
    sys.exit(f"The bench needs {' and '.join(missing)}: sudo apt-get install {' '.join(missing)}")


def tool_versions() -> dict:
    versions = common.versions("django", "granian", "playwright")
    if shutil.which("wrk"):
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
        versions["wrk"] = (out.stdout or out.stderr).split("[")[0].replace("wrk", "").strip()
    if Path(browser.CHROMIUM).exists():
        out = subprocess.run(
            [browser.CHROMIUM, "--version"], capture_output=True, text=True, check=False
        )
        versions["chromium"] = out.stdout.split(" built")[0].strip()
    return versions


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """A server process in its own process group, stopped by that group's id."""

    def __init__(self, name: str, cmd: list[str], *, env: dict, port: int, log: Path, cwd=None):
        self.name, self.port, self.log = name, port, log
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, path: str = "/", timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                status, _h, _b = http_get(self.port, path)
                if status < 500:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"{self.name} did not start; its log:\n{self.log.read_text()[-3000:]}")

    def cpu_seconds(self) -> float:
        """CPU time used so far by every process of the server (granian's threads included)."""
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.proc.pid:  # the process group
                total += int(fields[11]) + int(fields[12])  # utime + stime
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        self._log.close()


def http_get(port: int, path: str, headers: dict | None = None):
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.msg, response.read()
    finally:
        conn.close()


# --- databases ------------------------------------------------------------------------------


def count_orders(db: str, env: dict) -> int:
    if db == "sqlite":
        path = Path(env["TAPGO_VAR_DIR"]) / "tapgo.sqlite3"
        with sqlite3.connect(path) as conn:
            return conn.execute("SELECT count(*) FROM ordering_order").fetchone()[0]
    import psycopg

    with psycopg.connect(env["TAPGO_DATABASE_URL"]) as conn:
        return conn.execute("SELECT count(*) FROM ordering_order").fetchone()[0]


# --- customers ------------------------------------------------------------------------------


def make_customers(port: int, code: str, count: int) -> list[tuple[str, str]]:
    """Customers who scanned table 1 once: (Cookie header, CSRF token) each."""
    customers = []
    for _ in range(count):
        status, headers, _body = http_get(port, f"/s/{code}", {"Accept-Encoding": "gzip"})
        if status != 200:
            raise SystemExit(f"scanning the table code answered {status}")
        jar = {}
        for line in headers.get_all("Set-Cookie") or []:
            name, _, rest = line.partition("=")
            jar[name.strip()] = rest.split(";", 1)[0]
        if "tg_guest" not in jar or "csrftoken" not in jar:
            raise SystemExit(f"the scan set no guest or CSRF cookie: {sorted(jar)}")
        cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
        customers.append((cookie, jar["csrftoken"]))
    return customers


def write_lines(path: Path, rows) -> Path:
    path.write_text("".join("\t".join(row) + "\n" for row in rows))
    return path


# --- load -----------------------------------------------------------------------------------


def wrk(
    server: "Server",
    *,
    mode: str,
    path: str = "/",
    users: Path | None = None,
    referer: str = "",
    slug: str = "",
    items: Path | None = None,
    threads: int,
    connections: int,
    seconds: float,
    work: Path,
) -> dict:
    port = server.port
    out = work / f"wrk-{time.monotonic_ns()}.json"
    env = dict(
        os.environ,
        BENCH_MODE=mode,
        BENCH_PATH=path,
        BENCH_USERS=str(users) if users else "",
        BENCH_REFERER=referer,
        BENCH_SLUG=slug,
        BENCH_ITEMS=str(items) if items else "",
        BENCH_HOST=f"{HOST}:{port}",
        BENCH_OUT=str(out),
        BENCH_RUN=f"{os.getpid()}x{time.monotonic_ns()}",
    )
    if not users:
        env.pop("BENCH_USERS")
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / "wrk.lua"),
        f"http://{HOST}:{port}{path}",
    ]
    cpu_before = server.cpu_seconds()
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60)
    cpu = server.cpu_seconds() - cpu_before
    if run.returncode != 0 or not out.exists():
        raise SystemExit(f"wrk failed: {run.stderr or run.stdout}")
    data = json.loads(out.read_text())
    out.unlink()
    seconds_run = data["duration_us"] / 1e6
    errors = sum(data["errors"].values())
    return {
        "rps": round(data["requests"] / seconds_run, 1),
        "p50_ms": round(data["latency_us"]["p50"] / 1000, 2),
        "p90_ms": round(data["latency_us"]["p90"] / 1000, 2),
        "p99_ms": round(data["latency_us"]["p99"] / 1000, 2),
        "max_ms": round(data["latency_us"]["max"] / 1000, 2),
        # Server CPU per request: steadier than req/s on a machine shared with other work.
        "cpu_us": round(cpu * 1e6 / data["requests"]) if data["requests"] else None,
        "requests": data["requests"],
        "good": data["good"],
        "bad": data["bad"] + errors,
        "checkouts": data["checkouts"],
    }


def median_of(rounds: list[dict]) -> dict:
    keys = ("rps", "p50_ms", "p90_ms", "p99_ms", "cpu_us")
    summary = {key: round(statistics.median(r[key] for r in rounds), 2) for key in keys}
    summary["max_ms"] = max(r["max_ms"] for r in rounds)
    for key in ("requests", "good", "bad", "checkouts"):
        summary[key] = sum(r[key] for r in rounds)
    summary["rps_rounds"] = [r["rps"] for r in rounds]
    return summary


# --- one database ---------------------------------------------------------------------------


def bench_database(db: str, opts, work: Path) -> dict:
    print(f"\n== {db}", flush=True)
    with common.fresh_database(db, opts, POSTGRES_BENCH_DB) as env:
        return bench_servers(db, env, opts, work)


def bench_servers(db: str, env: dict, opts, work: Path) -> dict:
    """Seed the fresh database, start the servers, measure; stop the servers."""
    servers: list[Server] = []
    try:
        demo = common.child(BENCH / "seed.py", env)
        port = free_port()
        env["TAPGO_PUBLIC_URL"] = f"http://{HOST}:{port}"
        serve_cmd = [sys.executable, "-m", "tapgo.cli", "serve", "--port", str(port)]
        serve_cmd += ["--workers", str(opts.workers)]
        if opts.threads:
            serve_cmd += ["--threads", str(opts.threads)]
        tapgo = Server("tapgo serve", serve_cmd, env=env, port=port, log=work / f"{db}-serve.log")
        servers.append(tapgo)
        tapgo.wait_ready("/")
        slug, code = demo["slug"], demo["code"]
        result: dict = {"scan_path": f"/s/{code}", "menu_path": f"/m/{slug}/"}

        if not opts.skip_browser:
            print("  first screen and first paint (Chromium) …", flush=True)
            result["first_screen"] = browser.measure(
                f"http://{HOST}:{port}/s/{code}", runs=opts.fcp_runs
            )

        if not opts.skip_load:
            hello_port = free_port()
            hello_cmd = granian_command(
                host=HOST,
                port=hello_port,
                workers=opts.workers,
                threads=opts.threads_resolved,
                app="hello:application",
            )
            hello_env = dict(env, PYTHONPATH=str(BENCH / "hello"))
            hello = Server(
                "hello", hello_cmd, env=hello_env, port=hello_port, log=work / f"{db}-hello.log"
            )
            servers.append(hello)
            stack_port = free_port()
            stack_cmd = granian_command(
                host=HOST,
                port=stack_port,
                workers=opts.workers,
                threads=opts.threads_resolved,
                app="stack:application",
            )
            stack = Server(
                "hello behind Tapgo's middleware",
                stack_cmd,
                env=hello_env,
                port=stack_port,
                log=work / f"{db}-stack.log",
            )
            servers.append(stack)
            hello.wait_ready("/")
            stack.wait_ready("/")
            result["load"] = load_suite(opts, tapgo, hello, stack, demo, work)
            # wrk stops with a checkout in flight on some connections: the server finishes
            # those, wrk does not count them. So: counted <= orders <= counted + in flight.
            order = result["load"]["order"]
            counted = order["checkouts"] + result["load"].pop("_warmup_checkouts")
            in_flight = opts.order_users * (opts.rounds + 1)
            order["orders_in_database"] = count_orders(db, env)
            order["checkouts_counted"] = counted
            order["orders_match_checkouts"] = (
                counted <= order["orders_in_database"] <= counted + in_flight
            )
        return result
    finally:
        for server in servers:
            server.stop()


def load_suite(opts, tapgo: "Server", hello: "Server", stack: "Server", demo: dict, work: Path):
    slug, code, port = demo["slug"], demo["code"], tapgo.port
    customers = make_customers(port, code, opts.customers + opts.order_users)
    browsing = write_lines(work / "customers.tsv", customers[: opts.customers])
    ordering = write_lines(work / "orderers.tsv", customers[opts.customers :])
    items = write_lines(work / "items.tsv", [(p["id"], p["variant"]) for p in demo["products"]])
    base = f"http://{HOST}:{port}"
    get = {"mode": "get", "threads": 2, "connections": opts.connections, "work": work}
    scenarios = {
        # The framework's floor: Django, one view, no middleware, same granian options.
        "hello": dict(get, server=hello, path="/"),
        # The same view behind Tapgo's settings and middleware: what the stack itself costs.
        "hello_stack": dict(get, server=stack, path="/", users=browsing),
        # The menu page as customers move around in the app (after each add-to-cart too).
        "menu": dict(
            get, server=tapgo, path=f"/m/{slug}/", users=browsing, referer=f"{base}/m/{slug}/"
        ),
        # A returning customer opening the app directly: records a visit (scene "direct").
        "menu_entry": dict(get, server=tapgo, path=f"/m/{slug}/", users=browsing),
        # A returning customer scanning the table code: records a visit, sets the table.
        "scan": dict(get, server=tapgo, path=f"/s/{code}", users=browsing),
        # A first-time customer scanning it: no cookies, so every request makes a new guest
        # and records a first visit (and fills the per-process caches past their size).
        "scan_new": dict(get, server=tapgo, path=f"/s/{code}"),
        # A returning customer on a product's page (a door too: records no visit here).
        "product": dict(
            get,
            server=tapgo,
            path=f"/m/{slug}/p/{demo['products'][0]['id']}/",
            users=browsing,
            referer=f"{base}/m/{slug}/",
        ),
        # Each connection one customer: add to cart, check out, again (two requests an order).
        "order": dict(
            mode="order",
            server=tapgo,
            path=f"/m/{slug}/",
            users=ordering,
            slug=slug,
            items=items,
            threads=opts.order_users,
            connections=opts.order_users,
            work=work,
        ),
    }
    rounds: dict[str, list[dict]] = {name: [] for name in scenarios}
    warmup_checkouts = 0
    for name, spec in scenarios.items():
        warm = wrk(seconds=opts.warmup, **spec)
        warmup_checkouts += warm["checkouts"]
        if warm["bad"]:
            raise SystemExit(f"{name}: {warm['bad']} bad responses while warming up")
    for number in range(opts.rounds):
        for name, spec in scenarios.items():
            figures = wrk(seconds=opts.duration, **spec)
            rounds[name].append(figures)
            print(
                f"  round {number + 1} {name:<11} {figures['rps']:>9.1f} req/s  "
                f"p50 {figures['p50_ms']:>7.2f} ms  p99 {figures['p99_ms']:>8.2f} ms  "
                f"{figures['cpu_us']} µs CPU/req"
                + (f"  BAD {figures['bad']}" if figures["bad"] else ""),
                flush=True,
            )
    load = {name: median_of(results) for name, results in rounds.items()}
    floor = load["hello"]["rps"]
    for name in ("hello_stack", "menu", "menu_entry", "scan", "scan_new", "product", "order"):
        load[name]["share_of_floor"] = round(load[name]["rps"] / floor, 3) if floor else None
        cpu, floor_cpu = load[name]["cpu_us"], load["hello"]["cpu_us"]
        load[name]["share_of_floor_by_cpu"] = round(floor_cpu / cpu, 3) if cpu else None
    load["order"]["orders_per_second"] = round(load["order"]["rps"] / 2, 1)
    load["_warmup_checkouts"] = warmup_checkouts
    return load


# --- targets and report ---------------------------------------------------------------------


def verdicts(result: dict) -> dict:
    out = {}
    screen = result.get("first_screen")
    if screen:
        out["first_screen_bytes"] = (screen["html_css_js_bytes"], TARGETS["first_screen_bytes"])
        out["requests_before_first_paint"] = (
            screen["requests_before_first_paint"],
            TARGETS["requests_before_first_paint"],
        )
        out["image_max_bytes"] = (screen["image_max_bytes"], TARGETS["image_max_bytes"])
        out["fcp_ms"] = (screen["fcp_ms_median"], TARGETS["fcp_ms"])
    load = result.get("load")
    if load:
        out["menu_share_of_floor"] = (
            load["menu"]["share_of_floor"],
            TARGETS["menu_share_of_floor"],
        )
    return {
        name: {
            "value": value,
            "target": target,
            "met": value >= target if name == "menu_share_of_floor" else value <= target,
        }
        for name, (value, target) in out.items()
    }


def print_summary(results: dict) -> None:
    print("\n" + "=" * 78)
    for db, result in results["databases"].items():
        print(f"{db}")
        screen = result.get("first_screen")
        if screen:
            print(
                f"  first screen   HTML {screen['html_bytes']} B "
                f"({screen['html_encoding'] or 'identity'}, {screen['html_decoded_bytes']} B "
                f"decoded) + CSS {screen['css_bytes']} B + JS {screen['js_bytes']} B = "
                f"{screen['html_css_js_bytes']} B on the wire"
            )
            print(
                f"                 {screen['requests_before_first_paint']} requests before first "
                f"paint ({', '.join(screen['requests_before_first_paint_list'])}); images: "
                f"{screen['images_on_page']} on the page, "
                f"{screen['images_deferred']} after the first paint, "
                f"{screen['images_loaded']} loaded, largest {screen['image_max_bytes']} B"
            )
            print(
                f"  scan → FCP     median {screen['fcp_ms_median']} ms over {screen['runs']} cold "
                f"throttled runs {screen['fcp_ms_all']} "
                f"(HTML done at {screen['html_done_ms_median']} ms)"
            )
        load = result.get("load")
        if load:
            for name, row in load.items():
                share = row.get("share_of_floor")
                print(
                    f"  {name:<12} {row['rps']:>9.1f} req/s  p50 {row['p50_ms']:>7.2f} ms  "
                    f"p99 {row['p99_ms']:>8.2f} ms  {row['cpu_us']:>6} µs CPU/req"
                    + (f"  {share:.1%} of hello" if share is not None else "")
                    + (f"  ({row['orders_per_second']} orders/s)" if name == "order" else "")
                    + (f"  BAD {row['bad']}" if row["bad"] else "")
                )
        for name, verdict in result.get("targets", {}).items():
            mark = "met" if verdict["met"] else "NOT MET"
            print(
                f"  target {name:<28} {verdict['value']!s:>10} vs {verdict['target']!s:<8} {mark}"
            )
    print("=" * 78)


def main(argv=None) -> int:
    parser = common.arguments(__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter runs, fewer rounds")
    parser.add_argument("--duration", type=float, help="seconds per load run (10; quick 3)")
    parser.add_argument(
        "--rounds", type=int, help="interleaved rounds of every scenario (3; quick 1)"
    )
    parser.add_argument("--fcp-runs", type=int, help="throttled page loads (7; quick 3)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections for GETs")
    parser.add_argument("--order-users", type=int, default=8, help="customers ordering at once")
    parser.add_argument("--customers", type=int, default=64, help="returning customers browsing")
    parser.add_argument(
        "--workers", type=int, default=None, help="server workers (default: tapgo's)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="threads per worker (default: tapgo's)"
    )
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument(
        "--skip-codes", action="store_true", help="skip bench/codes.py (QR codes and posters)"
    )
    parser.add_argument(
        "--payments",
        action="store_true",
        help="then run bench/payments.py too (payments per second, ledger verify on 1M entries)",
    )
    parser.add_argument(
        "--nearby",
        action="store_true",
        help="then run bench/nearby.py too (nearby queries on 50,000 stores)",
    )
    parser.add_argument(
        "--search",
        action="store_true",
        help="then run bench/search.py too (search on 10,000 apps and 200,000 products)",
    )
    parser.add_argument(
        "--notify",
        action="store_true",
        help="then run bench/notify.py too (10,000 notifications through `tapgo worker`)",
    )
    opts = parser.parse_args(argv)
    opts.duration = opts.duration or (3.0 if opts.quick else 10.0)
    opts.rounds = opts.rounds or (1 if opts.quick else 3)
    opts.fcp_runs = opts.fcp_runs or (3 if opts.quick else 7)
    opts.warmup = 1.0 if opts.quick else 2.0
    default_workers, default_threads = web_defaults()
    opts.workers = opts.workers or default_workers
    opts.threads_resolved = opts.threads or default_threads

    ensure_tools(load=not opts.skip_load, browser_needed=not opts.skip_browser)
    results = common.start_figures("run.py", argv)
    results["versions"] = tool_versions()
    results["settings"] = {
        "workers": opts.workers,
        "threads_per_worker": opts.threads_resolved,
        "get_connections": opts.connections,
        "order_customers": opts.order_users,
        "browsing_customers": opts.customers,
        "seconds_per_run": opts.duration,
        "rounds": opts.rounds,
        "fcp_runs": opts.fcp_runs,
        "phone_link": browser.PHONE_LINK,
        "phone_viewport": browser.PHONE["viewport"],
    }
    results["targets"], results["databases"] = TARGETS, {}
    failed = False
    with tempfile.TemporaryDirectory(prefix="tapgo-bench-") as tmp:
        work = Path(tmp)
        for db in common.databases(opts):
            result = bench_database(db, opts, work)
            result["targets"] = verdicts(result)
            results["databases"][db] = result
            load = result.get("load", {})
            if any(row["bad"] for row in load.values()) or (
                load and not load["order"]["orders_match_checkouts"]
            ):
                failed = True
    common.end_figures(results, seconds=True)
    print_summary(results)
    common.save(opts.out, None, results)  # keeping the other benchmarks' parts of the file
    if failed:
        print("Some requests were not answered as a valid request is: see 'bad' above.")
    if not opts.skip_codes:  # QR codes and posters: in-process, no database (bench/codes.py)
        codes = [sys.executable, str(BENCH / "codes.py"), "--out", opts.out]
        failed = subprocess.call(codes + (["--quick"] if opts.quick else []), cwd=ROOT) or failed
    for name in ("payments", "nearby", "search", "notify"):  # the database benchmarks asked for
        if getattr(opts, name):
            script = str(BENCH / f"{name}.py")
            command = [sys.executable, script, "--db", opts.db, "--out", opts.out]
            failed = subprocess.call(command, cwd=ROOT) != 0 or failed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
