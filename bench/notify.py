"""Notification delivery benchmark: one command, figures in bench/results.json under "notify".

    uv run python bench/notify.py                   # SQLite and PostgreSQL, 10,000 messages
    uv run python bench/notify.py --db sqlite       # or postgres; both is the default
    uv run python bench/notify.py --messages 1000 --profile-messages 0     # a quick look

For each database, a fresh one (a temporary TAPGO_VAR_DIR; for PostgreSQL a database of its
own, dropped afterwards), migrated, with the rate limits off (TAPGO_NOTIFY_PER_CUSTOMER_HOUR=0,
TAPGO_NOTIFY_PER_MERCHANT_MINUTE=0) and loopback push endpoints allowed:

  1. a child process bulk-inserts N customers of one café's mini app, each with a one-time
     consent for "order ready" and a Web Push subscription (a loopback push service run by
     this process, tests/push_endpoint.py), then makes N messages with messaging.notify, one
     transaction each as the ordering code does; each commit queues a deliver_message task in
     django-tasks-db. Timed: notify calls per second.
  2. `tapgo worker` (--workers of them) starts; the clock runs from its start until the last
     push arrives at the push service. Reported: the seconds to the first push (the worker's
     start), to the last inbox entry (the latest delivered_at) and to the last push, messages
     per second over the whole run and between the first and last push, the worker's and the
     push service's CPU seconds. A sample of pushes is decrypted (each is a real RFC 8291
     push). Every message must be in the inbox once and every delivery sent.
  3. unless --profile-messages 0, a smaller run (1,000) with the worker's task loop
     (django-tasks-db's db_worker --batch) in-process under cProfile: where a message's time
     goes (the task queue's own work vs messaging's delivery, its SQL, the push's encryption
     and signing, and its HTTP request), in ms per message.

See bench/README.md ("Notifications"). A benchmark, not a test: it never fails on a slow
figure; it exits non-zero only when something did not work (a message lost or not sent).
"""

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common

sys.path.insert(0, str(common.ROOT))  # tests.push_endpoint: the loopback push service

POSTGRES_DB = "tapgo_bench_notify"
ENV = {
    "TAPGO_PUSH_ALLOW_LOCAL": "1",
    "TAPGO_NOTIFY_PER_CUSTOMER_HOUR": "0",
    "TAPGO_NOTIFY_PER_MERCHANT_MINUTE": "0",
}
SAMPLE = 20  # pushes decrypted to check they are real


# --- the parent: the push service, one worker run and one profile per database ----------------


def main(argv=None) -> int:
    parser = common.arguments(__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1, help="tapgo worker processes (1)")
    parser.add_argument(
        "--profile-messages", type=int, default=1_000, help="messages of the profile run (0: none)"
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for all")
    parser.add_argument("--child", choices=["setup", "facts", "profile"], help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--keys", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.child:
        print(json.dumps(CHILDREN[opts.child](opts)))
        return 0

    from tests.push_endpoint import Device, PushEndpoint

    figures = common.start_figures("notify.py", argv)
    figures["settings"] = {
        "messages": opts.messages,
        "workers": opts.workers,
        "profile_messages": opts.profile_messages,
        "env": ENV,
    }
    figures["versions"] = common.versions("django", "django-tasks-db", "pywebpush", "psycopg")
    figures["databases"] = {}
    ok = True
    for db in common.databases(opts):
        print(f"notify: {db}, {opts.messages:,} messages, {opts.workers} worker(s) …", flush=True)
        with PushEndpoint() as service, common.fresh_database(db, opts, POSTGRES_DB, **ENV) as env:
            phone = Device(service.url("/"))
            result = run(opts, env, service, phone)
        ok = ok and result["complete"]
        if opts.profile_messages:
            print(f"notify: {db}, profile of {opts.profile_messages:,} messages …", flush=True)
            with (
                PushEndpoint() as service,
                common.fresh_database(db, opts, POSTGRES_DB, **ENV) as env,
            ):
                args = _child_args(opts.profile_messages, service, Device(service.url("/")))
                result["profile"] = common.child(__file__, env, "--child", "profile", *args)
        figures["databases"][db] = result
    common.end_figures(figures, seconds=True)
    print_summary(figures)
    common.save(opts.out, "notify", figures)
    return 0 if ok else 1


def _child_args(messages: int, service, phone) -> list[str]:
    sub = phone.subscription()
    keys = f"{sub['keys']['p256dh']}:{sub['keys']['auth']}"
    return ["--messages", str(messages), "--endpoint", service.base, "--keys", keys]


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run(opts, env: dict, service, phone) -> dict:
    """Set up and make the messages (a child), then time `tapgo worker` delivering them."""
    made = common.child(
        __file__, env, "--child", "setup", *_child_args(opts.messages, service, phone)
    )
    logs = Path(tempfile.mkdtemp(prefix="tapgo-bench-notify-"))
    children_cpu, own_cpu = _cpu(resource.RUSAGE_CHILDREN), _cpu(resource.RUSAGE_SELF)
    started_wall, started = time.time(), time.monotonic()
    workers = []
    for i in range(opts.workers):
        with open(logs / f"worker-{i}.log", "wb") as log:
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "tapgo.cli", "worker"],
                    env=env,
                    cwd=common.ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    n, last_report, stalled = 0, started, None
    try:
        while True:
            n = len(service.received())
            now = time.monotonic()
            if n >= opts.messages:
                break
            if any(w.poll() is not None for w in workers):
                stalled = "a worker stopped"
                break
            if now - started > opts.timeout:
                stalled = f"only {n} pushes after {opts.timeout} s"
                break
            if now - last_report >= 10:
                print(f"  {n:,} pushes after {now - started:.0f} s", flush=True)
                last_report = now
            time.sleep(0.1)
    finally:
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGTERM)
        for w in workers:
            try:
                w.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(w.pid, signal.SIGKILL)
                w.wait()
    worker_cpu = _cpu(resource.RUSAGE_CHILDREN) - children_cpu
    service_cpu = _cpu(resource.RUSAGE_SELF) - own_cpu  # the push service (and this loop)
    pushes = service.received()
    if stalled:
        tail = "".join(p.read_text(errors="replace")[-3000:] for p in sorted(logs.glob("*")))
        print(f"notify: {stalled}\n{tail}", file=sys.stderr)
    facts = common.child(__file__, env, "--child", "facts")
    first_push = min(p.at for p in pushes) - started if pushes else None
    last_push = max(p.at for p in pushes) - started if pushes else None
    last_inbox = facts.pop("last_delivered_epoch")
    paths = {p.path for p in pushes}
    complete = (
        not stalled
        and facts["messages"] == facts["delivered"] == opts.messages
        and facts["deliveries"] == {"inbox:sent": opts.messages, "push:sent": opts.messages}
        and len(paths) == opts.messages
    )
    sample = pushes[:: max(1, len(pushes) // SAMPLE)]
    decrypted = sum(phone.decrypt(p.body)["title"] == "Your order is ready" for p in sample)
    result = {
        "setup": made,
        "complete": complete,
        "stalled": stalled,
        "pushes": len(pushes),
        "pushes_twice": len(pushes) - len(paths),
        "sample_decrypted": decrypted,
        "seconds_to_first_push": _round(first_push),
        "seconds_to_last_inbox": _round(last_inbox - started_wall if last_inbox else None),
        "seconds_to_last_push": _round(last_push),
        "messages_per_second": _round(opts.messages / last_push if last_push else None, 1),
        "messages_per_second_after_start": _round(
            (len(pushes) - 1) / (last_push - first_push) if last_push else None, 1
        ),
        "worker_cpu_seconds": round(worker_cpu, 1),
        "push_service_cpu_seconds": round(service_cpu, 1),
        "facts": facts,
    }
    return result


def _round(value, digits: int = 2):
    return None if value is None else round(value, digits)


def print_summary(figures: dict) -> None:
    s = figures["settings"]
    print("=" * 78)
    print(f"Notifications: {s['messages']:,} messages (inbox + Web Push), {s['workers']} worker(s)")
    for db, r in figures["databases"].items():
        print(
            f"  {db}: notify {r['setup']['notify_per_second']} /s; worker: first push "
            f"{r['seconds_to_first_push']} s, last inbox {r['seconds_to_last_inbox']} s, "
            f"last push {r['seconds_to_last_push']} s"
        )
        print(
            f"    {r['messages_per_second']} messages/s ({r['messages_per_second_after_start']}"
            f" after start); worker CPU {r['worker_cpu_seconds']} s, push service CPU "
            f"{r['push_service_cpu_seconds']} s; complete: {r['complete']}"
        )
        profile = r.get("profile")
        if profile:
            parts = profile["parts_ms_per_message"]
            print(
                f"    in-process task loop: {profile['ms_per_message']} ms a message "
                f"({profile['messages_per_second']}/s); SQL ms (queries) task queue "
                f"{profile['sql_ms_per_message']['queue']} "
                f"({profile['queries_per_message']['queue']}), delivery "
                f"{profile['sql_ms_per_message']['delivery']} "
                f"({profile['queries_per_message']['delivery']})"
            )
            print("    ms a message: " + ", ".join(f"{k} {v}" for k, v in parts.items()))
    print("=" * 78)


# --- the children ----------------------------------------------------------------------------


def child_setup(opts) -> dict:
    """Customers with a consent and a phone each, in bulk; then N messages by notify."""
    common.setup_django(migrate=True)
    from django.db import transaction

    from tapgo.flows import listings as apps
    from tapgo.identity.models import Customer
    from tapgo.identity.services import staff_user_create
    from tapgo.merchants.services import merchant_create
    from tapgo.messaging import services as messaging
    from tapgo.messaging.keys import TemplateKey
    from tapgo.messaging.models import Consent, PushSubscription, Template

    p256dh, auth = opts.keys.split(":")
    began = time.perf_counter()
    owner = staff_user_create(email="owner@bench.test", password="correct horse battery")
    merchant = merchant_create(owner=owner, name="Bench Café")
    app = apps.app_create(merchant=merchant, name="Bench Café", slug="bench-cafe")
    apps.app_set_published(app=app, published=True)
    template = Template.objects.get(key=TemplateKey.ORDER_READY)
    customers = []
    for start in range(0, opts.messages, 2_000):
        n = min(2_000, opts.messages - start)
        with transaction.atomic():
            batch = Customer.objects.bulk_create(Customer() for _ in range(n))
            Consent.objects.bulk_create(
                Consent(
                    merchant=merchant,
                    customer=c,
                    app=app,
                    template=template,
                    kind=Consent.Kind.ONE_TIME,
                    language="en",
                )
                for c in batch
            )
            PushSubscription.objects.bulk_create(
                PushSubscription(
                    customer=c,
                    endpoint=f"{opts.endpoint}/phone/{start + i}",
                    p256dh=p256dh,
                    auth=auth,
                    language="en",
                )
                for i, c in enumerate(batch)
            )
        customers += batch
    setup_seconds = time.perf_counter() - began

    began = time.perf_counter()
    for i, customer in enumerate(customers):
        messaging.notify(
            customer=customer,
            app=app,
            key=TemplateKey.ORDER_READY,
            values={"order": f"A{i:05d}", "app": app.name},
            link=f"/m/{app.slug}/orders/{i}/",
            dedupe=f"bench:{i}",
        )
    notify_seconds = time.perf_counter() - began
    from django_tasks_db.models import DBTaskResult

    return {
        "setup_seconds": round(setup_seconds, 1),
        "notify_seconds": round(notify_seconds, 1),
        "notify_per_second": round(len(customers) / notify_seconds, 1),
        "tasks_queued": DBTaskResult.objects.filter(status="READY").count(),
    }


def child_facts(opts) -> dict:
    common.setup_django()
    from django.db.models import Count, Max

    from tapgo.messaging.models import Delivery, Message

    last = Message.objects.aggregate(last=Max("delivered_at"))["last"]
    rows = Delivery.objects.values("channel", "status").annotate(n=Count("pk"))
    from django_tasks_db.models import DBTaskResult

    tasks = DBTaskResult.objects.values("status").annotate(n=Count("pk"))
    return {
        "messages": Message.objects.count(),
        "delivered": Message.objects.filter(delivered_at__isnull=False).count(),
        "last_delivered_epoch": last.timestamp() if last else None,
        "deliveries": {f"{r['channel']}:{r['status']}": r["n"] for r in rows},
        "tasks": {r["status"]: r["n"] for r in tasks},
        "max_attempts": Delivery.objects.aggregate(m=Max("attempts"))["m"],
    }


def child_profile(opts) -> dict:
    """The worker's task loop (db_worker --batch) in-process: N messages with the parts of a
    delivery timed by wrappers and every SQL query timed and put down to the task queue or to
    messaging's delivery; then N more under cProfile for the functions' own time (slower by
    the profiler's overhead)."""
    import cProfile
    import pstats
    import threading

    import requests

    opts.messages *= 2
    made = child_setup(opts)
    n = opts.messages // 2
    from django.core.management import call_command
    from django.db import connection

    from tapgo.messaging import delivery, push

    where = threading.local()
    sql = {"queue": [0, 0.0], "delivery": [0, 0.0]}
    seconds: dict[str, float] = {}

    def timer(name, fn, *, flag=False, by_channel=False):
        def timed_call(*args, **kwargs):
            label = f"{name}_{args[0].channel}" if by_channel else name
            began = time.perf_counter()
            if flag:
                where.delivery = True
            try:
                return fn(*args, **kwargs)
            finally:
                if flag:
                    where.delivery = False
                seconds[label] = seconds.get(label, 0.0) + time.perf_counter() - began

        return timed_call

    def timed_sql(execute, query, params, many, context):
        began = time.perf_counter()
        try:
            return execute(query, params, many, context)
        finally:
            part = sql["delivery" if getattr(where, "delivery", False) else "queue"]
            part[0] += 1
            part[1] += time.perf_counter() - began

    def worker() -> None:
        call_command(
            "db_worker", "--batch", "--no-reload", "--no-startup-delay", "--interval", "0",
            "--max-tasks", str(n), verbosity=0,
        )  # fmt: skip

    push.vapid()  # the keys are read once per process: not part of a message's time
    # Module attributes looked up at call time: wrapping them times every call.
    wrapped = [
        (delivery, "deliver_message", {"flag": True}),
        (delivery, "_claim", {}),
        (delivery, "_attempt", {"by_channel": True}),
        (delivery, "_record", {}),
        (delivery, "_payload", {}),
        (push, "webpush", {}),  # pywebpush: encrypt, sign (VAPID), POST
        (requests.Session, "post", {}),  # its HTTP request alone
    ]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _kw in wrapped]
    for owner, name, kwargs in wrapped:
        setattr(owner, name, timer(name.strip("_"), getattr(owner, name), **kwargs))
    began = time.perf_counter()
    try:
        with connection.execute_wrapper(timed_sql):
            worker()
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
    wall = time.perf_counter() - began

    profile = cProfile.Profile()
    profile.enable()
    worker()
    profile.disable()
    top = sorted(pstats.Stats(profile).stats.items(), key=lambda kv: kv[1][2], reverse=True)
    ms = 1000 / n
    parts = {k: round(v * ms, 2) for k, v in sorted(seconds.items())}
    parts["task_queue"] = round((wall - seconds["deliver_message"]) * ms, 2)
    parts["push_encrypt_and_sign"] = round((seconds["webpush"] - seconds["post"]) * ms, 2)
    return {
        "messages": n,
        "setup": made,
        "seconds": round(wall, 2),
        "messages_per_second": round(n / wall, 1),
        "ms_per_message": round(wall * ms, 2),
        "parts_ms_per_message": parts,
        "queries_per_message": {k: round(v[0] / n, 1) for k, v in sql.items()},
        "sql_ms_per_message": {k: round(v[1] * ms, 2) for k, v in sql.items()},
        "profiled_top_own_time": [
            {"function": f"{Path(path).name}:{line} {func}", "ms_per_message": round(tt * ms, 3)}
            for (path, line, func), (_cc, _nc, tt, _ct, _callers) in top[:15]
        ],  # fmt: skip
    }


CHILDREN = {"setup": child_setup, "facts": child_facts, "profile": child_profile}


if __name__ == "__main__":
    sys.exit(main())
