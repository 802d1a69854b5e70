"""The `tapgo` command: demo, serve, worker, and every Django management command.

tapgo demo    migrate, seed the demo businesses, run the web server and a worker together
tapgo serve   the web server alone (granian, WSGI)
tapgo worker  the background worker alone (django-tasks-db) with the periodic sweeps
tapgo <cmd>   any Django management command (migrate, createsuperuser, ...)
"""

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import django
from django.conf import settings
from django.core.management import call_command, execute_from_command_line
from django.db import close_old_connections

from tapgo import serving_log


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tapgo.settings")
    django.setup()


def _var_dir() -> None:

    for path in (settings.VAR_DIR, settings.MEDIA_ROOT, settings.STATIC_ROOT):
        path.mkdir(parents=True, exist_ok=True)


# A few threads per worker: more only make requests wait on each other for the GIL (bench/),
# while each open live stream holds one; live.py keeps streams to half of them.
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 8


def web_defaults() -> tuple[int, int]:
    """Worker processes and threads per worker `tapgo serve` uses when not told otherwise."""
    return (
        int(os.environ.get("TAPGO_WORKERS", DEFAULT_WORKERS)),
        int(os.environ.get("TAPGO_THREADS", DEFAULT_THREADS)),
    )


def _web_options(parser: argparse.ArgumentParser) -> None:
    workers, threads = web_defaults()
    parser.add_argument("--host", default=os.environ.get("TAPGO_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("TAPGO_PORT", "8000")))
    parser.add_argument(
        "--public-url",
        default=None,
        help="base URL that printed codes and links carry, e.g. http://192.168.1.20:8000",
    )
    parser.add_argument("--workers", type=int, default=workers)
    parser.add_argument(
        "--threads",
        type=int,
        default=threads,
        help="threads per worker process; open live streams may hold at most half of them",
    )


def _public_url(args) -> str:
    if args.public_url:
        return args.public_url.rstrip("/")
    if os.environ.get("TAPGO_PUBLIC_URL"):
        return os.environ["TAPGO_PUBLIC_URL"].rstrip("/")
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    return f"http://{host}:{args.port}"


# Django's WSGI application behind the shell's front door, which answers the menu page for
# a customer moving inside an app before the middleware (docs/decisions/0001-serving.md);
# TAPGO_FRONT_DOOR=0 serves Django's application alone.
FRONT_DOOR_APP = "tapgo.shell.front:application"
DJANGO_APP = "tapgo.wsgi:application"


def wsgi_app() -> str:
    return FRONT_DOOR_APP if settings.FRONT_DOOR else DJANGO_APP


def granian_command(*, host: str, port: int, workers: int, threads: int, app: str) -> list[str]:
    """The web server's command line; bench/ serves its "hello" floor with the same options."""
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--blocking-threads",
        str(threads),
        "--no-ws",
        "--log-level",
        "warning",
        "--log-config",
        str(serving_log.CONFIG),  # granian's own log, less its advice about threads
        app,
    ]


def _serve_command(args) -> list[str]:
    return granian_command(
        host=args.host, port=args.port, workers=args.workers, threads=args.threads, app=wsgi_app()
    )


def _collect_static() -> None:
    """Collect the static files, compressed, for the web workers to serve (the process set
    TAPGO_STATIC_COLLECTED before Django started: settings.STATIC_COLLECTED)."""
    call_command("collectstatic", "--noinput", verbosity=0)


def serve(args) -> int:
    os.environ["TAPGO_PUBLIC_URL"] = _public_url(args)
    # The workers read it to size their live streams (tapgo.core.live.max_streams).
    os.environ["TAPGO_THREADS"] = str(args.threads)
    os.environ["TAPGO_WARM_SEARCH"] = "1"  # each web worker loads the search dictionary early
    os.environ["TAPGO_STATIC_COLLECTED"] = "1"  # before Django starts: see _collect_static
    _django()
    _var_dir()
    _collect_static()
    return subprocess.call(_serve_command(args))


def _sweeps() -> tuple:
    """The safety nets under the per-item tasks: expire unpaid orders, ask providers about
    payments whose webhook is late, send refunds whose request did not get through; expire
    members' points that are due (and recompute levels daily); expire coupons and remind about
    those ending soon; expire booking holds whose five minutes ran out; and search popularity,
    recounted every few minutes."""

    from tapgo.bookings.services import bookings_expire_due  # after django.setup()
    from tapgo.discovery.search import popularity_sweep  # after django.setup()
    from tapgo.flows.coupons import coupons_sweep  # after django.setup()
    from tapgo.flows.membership import membership_sweep  # after django.setup()
    from tapgo.flows.orders import orders_expire_due  # after django.setup()
    from tapgo.flows.payment_events import reconcile_due  # after django.setup()
    from tapgo.payments.services import refunds_send_due  # after django.setup()

    # popularity_sweep recounts search popularity every few minutes, not every round
    return (orders_expire_due, reconcile_due, refunds_send_due, membership_sweep,
            coupons_sweep, bookings_expire_due, popularity_sweep)  # fmt: skip


def worker_imports() -> tuple[tuple, Callable[[], object]]:
    """Import, in the main thread and before any other starts, all the worker runs: every
    app's tasks (db_worker imports a task's module when it first runs one), the sweeps and
    the deliveries. Two threads importing modules that import each other (messaging's tasks,
    delivery and services) can each find the other's module half made ("cannot import name
    … from partially initialized module"), which once stopped a worker's deliveries."""

    from django.utils.module_loading import autodiscover_modules  # after django.setup()

    import tapgo.flows.tasks  # noqa: F401 - after django.setup(); flows is not an app
    from tapgo.messaging.delivery import deliveries_due  # after django.setup()

    autodiscover_modules("tasks")
    return _sweeps(), deliveries_due


def _sweep_forever(stop: threading.Event, sweeps: tuple) -> None:
    while not stop.wait(settings.SWEEP_SECONDS):
        for sweep in sweeps:
            try:
                sweep()
            except Exception:  # keep sweeping; the next round retries
                logging.getLogger("tapgo.worker").exception("%s failed", sweep.__name__)
            finally:
                close_old_connections()


def _deliveries_forever(stop: threading.Event, deliveries_due: Callable[[], object]) -> None:
    """Notification deliveries whose task did not run, whose worker died holding them, or
    whose retry is due. A thread of its own: slow push services must not hold up payments."""
    while not stop.wait(settings.SWEEP_SECONDS):
        try:
            deliveries_due()
        except Exception:  # keep sweeping; the next round retries
            logging.getLogger("tapgo.worker").exception("deliveries_due failed")
        finally:
            close_old_connections()


def worker(args) -> int:
    _django()
    _var_dir()

    from tapgo.messaging.push import ensure_vapid_keys  # after django.setup()

    ensure_vapid_keys()  # made on the first start, kept from then on
    sweeps, deliveries_due = worker_imports()
    stop = threading.Event()
    threading.Thread(target=_sweep_forever, args=(stop, sweeps), daemon=True).start()
    threading.Thread(target=_deliveries_forever, args=(stop, deliveries_due), daemon=True).start()
    try:
        call_command("db_worker", "--no-reload", "--interval", str(args.interval), verbosity=0)
    finally:
        stop.set()
    return 0


def demo(args) -> int:
    public_url = _public_url(args)
    os.environ["TAPGO_PUBLIC_URL"] = public_url
    os.environ["TAPGO_STATIC_COLLECTED"] = "1"  # before Django starts: see _collect_static
    _django()
    _var_dir()
    _collect_static()

    from tapgo import demo as demo_data  # after django.setup()

    call_command("migrate", "--noinput", verbosity=0)
    info = demo_data.seed()
    env = dict(
        os.environ,
        TAPGO_PUBLIC_URL=public_url,
        TAPGO_THREADS=str(args.threads),
        TAPGO_WARM_SEARCH="1",
    )
    # Each child leads its own process group, so stopping one stops its worker processes too.
    web = subprocess.Popen(_serve_command(args), env=env, start_new_session=True)
    work = subprocess.Popen(
        [sys.executable, "-m", "tapgo.cli", "worker"], env=env, start_new_session=True
    )
    demo_data.print_welcome(info, public_url)
    children = [web, work]

    def stop(*_):
        # A second Ctrl-C must not interrupt the clean-up.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for child in children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()

    signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("A part of Tapgo stopped; stopping the rest.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping Tapgo…")
        return 0
    finally:
        stop()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="tapgo", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    _web_options(sub.add_parser("demo", help="run Tapgo with demo businesses"))
    _web_options(sub.add_parser("serve", help="run the web server"))
    work = sub.add_parser("worker", help="run the background worker")
    work.add_argument("--interval", type=float, default=0.5)
    if argv and argv[0] not in {"demo", "serve", "worker", "-h", "--help"}:
        _django()
        _var_dir()

        execute_from_command_line(["tapgo", *argv])
        return 0
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return {"demo": demo, "serve": serve, "worker": worker}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
