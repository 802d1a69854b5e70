"""Crash test: `kill -9` the server and the worker in the middle of a rush of checkouts.

Real `tapgo serve` and `tapgo worker` processes (as in test_processes.py) on the database the
suite runs on. Customers, each with their own cookies, scan, add to the cart, check out and
approve or decline on the sandbox's hosted page, or walk away; only the worker's signed
webhook, POSTed to the server, marks an order paid. Part-way through, both process groups get
SIGKILL; they are started again and the customers carry on (retrying what the crash cut off,
as a phone would). Then, once every order has settled:

- `tapgo ledger verify` exits 0;
- every order the sandbox approved is paid exactly once: one succeeded, counted intent each,
  as many paid orders as approvals, and no order paid twice;
- every other order expired (the worker's deferred task or its sweep) and gave its stock
  back: stock + sold == what there was;
- no intent is left open (a webhook lost in the crash is settled by reconciliation).
"""

import base64
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from tests.processes import Browser, django_print, free_port
from tests.processes import tapgo as tapgo_command

pytestmark = pytest.mark.process  # real `tapgo serve` and worker processes

CUSTOMERS = 30
AT_ONCE = 10
KILL_AFTER = 12  # checkouts made before the crash
PAY_SECONDS = 25  # an unpaid order's life
STOCK = {"Croissant": 400, "Egg Sandwich": 400}
# Most approve; some decline (the order stays payable, then expires) or walk away.
DECISIONS = ["approve", "approve", "approve", "decline", "approve", "leave"]
SLUG = "harbour-cafe"


@pytest.fixture
def crash_env(process_env):
    """The processes' environment and port."""
    port = free_port()
    env = dict(
        process_env,
        TAPGO_PUBLIC_URL=f"http://127.0.0.1:{port}",
        TAPGO_ORDER_PAYMENT_SECONDS=str(PAY_SECONDS),
        TAPGO_SWEEP_SECONDS="1",
        TAPGO_RECONCILE_AFTER_SECONDS="2",
        TAPGO_LOG_LEVEL="ERROR",
    )
    return env, port


class Tapgo:
    """`tapgo serve` and `tapgo worker`, each leading its own process group."""

    def __init__(self, env, port, logs):
        self.env, self.port, self.logs = env, port, logs
        self.procs: list[subprocess.Popen] = []
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        commands = {
            "serve": ["serve", "--port", str(self.port), "--workers", "1"],
            "worker": ["worker"],
        }
        for name, args in commands.items():
            with open(self.logs / f"{name}-{self.starts}.log", "wb") as log:
                self.procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "tapgo.cli", *args],
                        env=self.env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # answering
            except OSError:
                if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                    raise RuntimeError(f"tapgo did not start:\n{self.log_tail()}") from None
                time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL to both process groups: no clean-up, no flush, transactions cut off."""
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in self.procs:
            p.wait(timeout=15)
        self.procs = []

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.procs = []

    def log_tail(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-2000:]}"
            for path in sorted(self.logs.glob("*.log"))
        )


class Customer:
    """A phone: cookies of its own; a request the crash cut off is tried again."""

    def __init__(self, base: str, deadline: float):
        self.browser = Browser(base)
        self.deadline = deadline
        self.retries = 0

    def _again(self, step):
        while True:
            try:
                return step()
            except urllib.error.HTTPError:
                raise  # the server answered with an error: a bug, not the crash
            except (OSError, http.client.HTTPException):  # refused, reset, cut short
                self.retries += 1
                if time.monotonic() > self.deadline:
                    raise
                time.sleep(0.3)

    def get(self, path: str) -> tuple[str, str]:
        return self._again(lambda: self.browser.get(path))

    def post(self, path: str, data: dict, page: str) -> tuple[str, str]:
        return self._again(lambda: self.browser.post(path, data, page))


def _shop(customer: Customer, code: str, product: str, decision: str, checked_out) -> dict:
    _url, menu = customer.get(f"/s/{code}")
    item = re.search(
        r'id="p-([a-z0-9]+)"[^>]*>(?:(?!</article>).)*?<h3>(?:<a [^>]*>)?' + re.escape(product),
        menu,
        re.S,
    )[1]
    customer.post(f"/m/{SLUG}/cart/add", {"item": item}, menu)
    _url, cart = customer.get(f"/m/{SLUG}/cart/")
    key = re.search(r'name="checkout_key" value="([^"]+)"', cart)[1]
    url, page = customer.post(
        f"/m/{SLUG}/checkout", {"checkout_key": key, "fulfilment": "dine_in"}, cart
    )
    checked_out()
    outcome = {"decision": decision, "pay_page": "/payments/sandbox/" in url}
    if outcome["pay_page"]:
        outcome["order"] = re.search(rf'href="[^"]*/m/{SLUG}/orders/([a-z0-9]+)/"', page)[1]
        if decision != "leave":
            customer.post(urllib.parse.urlsplit(url).path, {"decision": decision}, page)
    else:  # only when the crash held the customer up past the order's time
        outcome["order"] = re.search(rf"/m/{SLUG}/orders/([a-z0-9]+)/", url)[1]
        outcome["told"] = re.findall(r'<p class="msg[^"]*">([^<]*)', page)
    outcome["retries"] = customer.retries
    return outcome


FACTS = """
import base64, json, django
django.setup()
from django.db.models import Sum
from tapgo.catalog.models import Product
from tapgo.ordering.models import Order, OrderLine
from tapgo.payments.models import PaymentIntent, SandboxOutbox

approved = {
    item.intent_id for item in SandboxOutbox.objects.all()
    if json.loads(item.body)["type"] == "payment.succeeded"
}
orders = {}
public_ids = {}
for o in Order.objects.all():
    orders[o.public_id] = {"status": o.status, "paid": o.paid_at is not None, "intents": []}
    public_ids[o.pk] = o.public_id
for i in PaymentIntent.objects.all():
    orders[public_ids[i.purpose_id]]["intents"].append(
        [i.status, i.counted, i.pk in approved, i.refunded_amount]
    )
sold = {
    name: OrderLine.objects.filter(
        product__name=name, order__paid_at__isnull=False
    ).aggregate(n=Sum("quantity"))["n"] or 0
    for name in NAMES
}
stock = dict(Product.objects.filter(name__in=NAMES).values_list("name", "stock"))
facts = json.dumps({
    "orders": orders, "sold": sold, "stock": stock, "approved": len(approved),
    "open": PaymentIntent.objects.filter(status__in=["requires_action", "processing"]).count(),
    "pending": Order.objects.filter(status="pending_payment").count(),
}, separators=(",", ":"))
print(base64.b64encode(facts.encode()).decode())  # one word
"""


def _facts(env) -> dict:
    return json.loads(
        base64.b64decode(django_print(env, FACTS.replace("NAMES", repr(list(STOCK)))))
    )


def test_killing_server_and_worker_mid_checkout_loses_and_doubles_nothing(tmp_path, crash_env):
    env, port = crash_env
    tapgo_command(env, "migrate", "--noinput", "-v0")
    seed = (
        "import django; django.setup(); from tapgo import demo; "
        "from tapgo.catalog.models import Product; info = demo.seed(history_days=0); "
        + "".join(
            f"Product.objects.filter(name={name!r}).update(stock={n}); "
            for name, n in STOCK.items()
        )
        # A table each: phones at one table share its cart, and this test is about customers
        # who each order alone.
        + "from tapgo.miniapps import services as m; "
        + f"tables = [str(n) for n in range(1, {CUSTOMERS + 1})]; "
        + "m.table_codes_create(app=info['cafe'], labels=tables); "
        + "from tapgo.miniapps.models import EntryCode as E; "
        + "print(','.join(E.objects.get(app=info['cafe'], kind='table', table_label=t).code "
        + "for t in tables))"
    )
    codes = django_print(env, seed).split(",")  # one word
    logs = tmp_path / "logs"
    logs.mkdir()
    tapgo = Tapgo(env, port, logs)
    try:
        tapgo.start()
        base = f"http://127.0.0.1:{port}"
        killed, lock, made = threading.Event(), threading.Lock(), []

        def checked_out():
            # The customer whose checkout is the KILL_AFTER-th pulls the plug at once, while
            # the others are in the middle of theirs.
            with lock:
                made.append(1)
                if len(made) != KILL_AFTER:
                    return
            tapgo.kill()
            killed.set()

        products = list(STOCK)
        deadline = time.monotonic() + 120
        with ThreadPoolExecutor(AT_ONCE) as pool:
            shoppers = [
                pool.submit(
                    _shop,
                    Customer(base, deadline),
                    codes[i],
                    products[i % len(products)],
                    DECISIONS[i % len(DECISIONS)],
                    checked_out,
                )
                for i in range(CUSTOMERS)
            ]
            assert killed.wait(60), "the checkouts stalled before the crash"
            time.sleep(1)
            tapgo.start()
            outcomes = [shopper.result(timeout=150) for shopper in shoppers]
        assert sum(o["retries"] for o in outcomes) > 0, "the crash cut nothing off"

        # Let the worker finish: webhooks retried or reconciled, unpaid orders expired.
        settle_by = time.monotonic() + PAY_SECONDS + 40
        while (facts := _facts(env))["pending"] or facts["open"]:
            assert time.monotonic() < settle_by, (
                f"{facts['pending']} orders still unpaid, {facts['open']} intents open\n"
                + tapgo.log_tail()
            )
            time.sleep(2)
    finally:
        tapgo.stop()

    tapgo_command(env, "ledger", "verify")  # exits 1 on any breach

    orders = facts["orders"]
    assert len(orders) == CUSTOMERS  # one order per checkout, retried or not
    paid = {pid: o for pid, o in orders.items() if o["paid"]}
    for pid, o in orders.items():
        succeeded = [i for i in o["intents"] if i[0] == "succeeded"]
        approved = [i for i in o["intents"] if i[2]]
        assert len(succeeded) <= 1, f"order {pid} was paid twice: {o}"
        if approved:
            assert o["status"] == "paid" and succeeded == approved, o
            assert succeeded[0][1] is True and succeeded[0][3] == 0, o  # counted, kept
        else:
            assert o["status"] == "expired" and not succeeded, o
    assert len(paid) == facts["approved"]
    # What each customer saw agrees. An approval the crash held up until after the order's
    # time never reached the sandbox (the pay page had closed): the order expired unpaid.
    for outcome in outcomes:
        status = orders[outcome["order"]]["status"]
        if outcome["decision"] == "approve" and status != "paid":
            assert outcome["retries"] and status == "expired", outcome
        elif outcome["decision"] != "approve":
            assert status == "expired", outcome
        if not outcome["pay_page"]:
            assert outcome["retries"] and outcome["told"], outcome
    for name, initial in STOCK.items():
        assert facts["stock"][name] + facts["sold"][name] == initial, (name, facts)
    assert facts["open"] == 0
