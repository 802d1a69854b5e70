"""Crash test for notifications: `kill -9` the worker while pushes are in flight.

A real `tapgo worker` (as in test_crash.py, on the database the suite runs on: a file SQLite
database, or a PostgreSQL database of its own) delivers 40 messages, each to the inbox and by
Web Push to its customer's phone, a loopback push service here that answers slowly. The
messages are made by messaging.notify in committed transactions, so their tasks wait in
django-tasks-db. Part-way through, while the worker waits on a push service's answer, its
process group gets SIGKILL; a new worker is started. Once everything has settled:

- every message is in its customer's inbox exactly once (one Message per dedupe key, its
  delivered_at set) and every delivery, inbox and push, is `sent`;
- every phone got its message (decrypted, the right one), at least once, as documented in
  messaging/delivery.py: a push cut off between the push service taking it and the worker
  recording it goes out again after its lease runs out. So may a push whose worker was
  paused past its lease (a starved CPU) while another took it over. Either way the delivery
  was claimed again: every push that went out twice belongs to a delivery claimed more than
  once (attempts > 1), whatever the machine's load; the counts are printed. (The phone
  shows it once: the notification's tag is the message's id, and a second one replaces it.)
"""

import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse

import pytest
from tests.processes import django_print, tapgo
from tests.push_endpoint import Device, PushEndpoint

pytestmark = pytest.mark.process  # real `tapgo serve` and worker processes

MESSAGES = 40
PUSH_DELAY = 0.25  # seconds the push service takes to answer each push
KILL_AFTER = 10  # pushes received before the crash
LEASE_SECONDS = 2


@pytest.fixture
def notify_env(process_env):
    """The worker's environment."""
    return dict(
        process_env,
        TAPGO_SWEEP_SECONDS="0.5",
        TAPGO_NOTIFY_LEASE_SECONDS=str(LEASE_SECONDS),
        TAPGO_PUSH_ALLOW_LOCAL="1",
        TAPGO_LOG_LEVEL="ERROR",
    )


# Customers who allowed "order ready" and subscribed a phone; a message each, made by notify
# in its own committed transaction (its task queued in django-tasks-db on commit).
SETUP = """
import json, os, django
django.setup()
from django.db import transaction
from tapgo.identity.services import customer_create_guest, staff_user_create
from tapgo.merchants.services import merchant_create
from tapgo.messaging import services as messaging
from tapgo.flows import listings
from django_tasks_db.models import DBTaskResult

owner = staff_user_create(email="owner@crash.test", password="correct horse battery")
merchant = merchant_create(owner=owner, name="Crash Café")
app = listings.app_create(merchant=merchant, name="Crash Café", slug="crash-cafe")
listings.app_set_published(app=app, published=True)
for i, phone in enumerate(json.loads(os.environ["CRASH_PHONES"])):
    customer = customer_create_guest()
    messaging.consent_give(customer=customer, app=app, key="order_ready")
    messaging.push_subscribe(customer=customer, **phone)
    with transaction.atomic():
        messaging.notify(
            customer=customer, app=app, key="order_ready",
            values={"order": f"A{i:03d}", "app": app.name},
            link=f"/m/{app.slug}/orders/{i}/", dedupe=f"crash:{i}",
        )
print(DBTaskResult.objects.filter(status="READY").count())
"""

FACTS = """
import base64, json, django
django.setup()
from django.db.models import Count
from tapgo.messaging.models import Delivery, Message
messages = {
    m.key: {"id": m.public_id, "delivered": m.delivered_at is not None, "n": 0}
    for m in Message.objects.all()
}
for row in Message.objects.values("key").annotate(n=Count("pk")):
    messages[row["key"]]["n"] = row["n"]
deliveries = list(
    Delivery.objects.values("message__key", "channel", "status", "attempts",
                            "subscription__endpoint")
)
facts = {"messages": messages, "deliveries": deliveries}
print(base64.b64encode(json.dumps(facts).encode()).decode())
"""


def _facts(env) -> dict:
    return json.loads(base64.b64decode(django_print(env, FACTS)))


def _worker(env, log_path) -> subprocess.Popen:
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "tapgo.cli", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _messages(env, service) -> dict[str, Device]:
    """Make the customers, phones and messages; the phones by their endpoint's path."""
    tapgo(env, "migrate", "--noinput", "-v0")
    phones = {f"/phone/{i}": Device(service.url(f"/phone/{i}")) for i in range(MESSAGES)}
    subscriptions = []
    for phone in phones.values():
        keys = phone.subscription()["keys"]
        subscriptions.append({"endpoint": phone.endpoint, **keys})
    queued = django_print({**env, "CRASH_PHONES": json.dumps(subscriptions)}, SETUP)
    assert queued == str(MESSAGES), f"{queued} tasks queued, not {MESSAGES}"
    assert not service.received()  # nothing goes out before a worker runs
    return phones


def _all_sent(env, logs) -> dict:
    deadline = time.monotonic() + 45
    while True:
        facts = _facts(env)
        open_ = [d for d in facts["deliveries"] if d["status"] != "sent"]
        if not open_:
            return facts
        assert time.monotonic() < deadline, (
            f"{len(open_)} deliveries not sent: {open_[:5]}\n"
            + "\n".join(p.read_text()[-2000:] for p in sorted(logs.glob("*.log")))
        )
        time.sleep(0.5)


def _reclaimed(facts) -> set[str]:
    """The phones (endpoint paths) whose push delivery was claimed more than once."""
    return {
        urllib.parse.urlsplit(d["subscription__endpoint"]).path
        for d in facts["deliveries"]
        if d["channel"] == "push" and d["attempts"] > 1
    }


def _check(facts, pushes, phones) -> dict[str, int]:
    """Every message in the inbox once, every delivery sent, every phone its own message;
    the phones that got it more than once, with how often."""
    messages = facts["messages"]
    assert sorted(messages) == sorted(f"crash:{i}" for i in range(MESSAGES))
    assert all(m["n"] == 1 and m["delivered"] for m in messages.values()), messages
    channels = [d["channel"] for d in facts["deliveries"]]
    assert channels.count("inbox") == channels.count("push") == MESSAGES
    assert {d["status"] for d in facts["deliveries"]} == {"sent"}
    got: dict[str, list[dict]] = {}
    for push in pushes:
        got.setdefault(push.path, []).append(phones[push.path].decrypt(push.body))
    assert sorted(got) == sorted(phones), f"phones without a push: {set(phones) - set(got)}"
    for path, payloads in got.items():
        i = int(path.rsplit("/", 1)[1])
        assert {p["tag"] for p in payloads} == {messages[f"crash:{i}"]["id"]}, (path, payloads)
        assert all(f"A{i:03d}" in p["body"] for p in payloads)
    return {path: len(payloads) for path, payloads in got.items() if len(payloads) > 1}


def test_killing_the_worker_mid_push_loses_no_message_and_doubles_no_inbox_entry(
    tmp_path, notify_env
):
    env, logs = notify_env, tmp_path / "logs"
    logs.mkdir()
    with PushEndpoint() as service:
        service.delay = PUSH_DELAY
        phones = _messages(env, service)
        worker = _worker(env, logs / "worker-1.log")
        try:
            service.wait_for(KILL_AFTER, timeout=30)
            # Half-way through the next push, the worker waits on the service's answer.
            time.sleep(PUSH_DELAY / 2)
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=15)
            time.sleep(PUSH_DELAY + 0.2)  # a push already sent is answered to no one
            # Pushes the service took that the dead worker had not recorded as sent: the
            # ones the crash cut off, which the next worker sends again.
            before = _facts(env)
            recorded = sum(
                d["status"] == "sent" for d in before["deliveries"] if d["channel"] == "push"
            )
            cut_off = len(service.received()) - recorded
            assert recorded < MESSAGES, "the worker finished before the crash"
            assert cut_off >= 1, "the crash cut no push off"

            worker = _worker(env, logs / "worker-2.log")
            facts = _all_sent(env, logs)
        finally:
            _stop(worker)
        pushes = service.received()

    twice = _check(facts, pushes, phones)
    retried = [d for d in facts["deliveries"] if d["channel"] == "push" and d["attempts"] > 1]
    print(  # noqa: T201 (the figures of the crash, for the log)
        f"\n{len(pushes)} pushes for {MESSAGES} messages; {cut_off} cut off by the crash; "
        f"{len(retried)} push deliveries claimed again; phones that got theirs twice: {twice}",
        file=sys.stderr,
    )
    assert len(pushes) == MESSAGES + sum(n - 1 for n in twice.values())
    # A push goes out twice only when its delivery was claimed again (after the crash, or
    # after a lease ran out): at least once, never a second send without a second claim.
    assert set(twice) <= _reclaimed(facts), (twice, _reclaimed(facts))


def test_two_live_workers_with_a_slow_push_service_send_each_push_at_least_once(
    tmp_path, notify_env
):
    """A worker's sweep claims every due delivery in one batch and takes longer than the
    lease to push them all: it renews each push's lease before sending it, and what the other
    worker's sweep takes over meanwhile it leaves to that worker. A push goes out twice only
    if its delivery was taken over while being sent (a worker paused past its lease, on a
    loaded machine): never without a second claim."""
    env, logs = notify_env, tmp_path / "logs"
    logs.mkdir()
    assert MESSAGES * PUSH_DELAY > 2 * LEASE_SECONDS  # the batch outlasts the lease
    with PushEndpoint() as service:
        service.delay = PUSH_DELAY
        phones = _messages(env, service)
        workers = [_worker(env, logs / f"worker-{i}.log") for i in (1, 2)]
        try:
            facts = _all_sent(env, logs)
        finally:
            for worker in workers:
                _stop(worker)
        pushes = service.received()
    twice = _check(facts, pushes, phones)
    print(  # noqa: T201 (the figures, for the log)
        f"\n{len(pushes)} pushes for {MESSAGES} messages; {len(_reclaimed(facts))} push "
        f"deliveries claimed again; phones that got theirs twice: {twice}",
        file=sys.stderr,
    )
    assert len(pushes) == MESSAGES + sum(n - 1 for n in twice.values())
    assert set(twice) <= _reclaimed(facts), (twice, _reclaimed(facts))
