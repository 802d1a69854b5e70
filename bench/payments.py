"""Payments benchmarks: one command, figures written to bench/results.json under "payments".

    uv run python bench/payments.py                 # SQLite and PostgreSQL (about 6 minutes)
    uv run python bench/payments.py --db sqlite     # or postgres; both is the default
    uv run python bench/payments.py --payments 500 --entries 100000   # a quick look

For each database, a fresh one (a temporary TAPGO_VAR_DIR; for PostgreSQL a database of its
own), migrated and seeded with `tapgo.demo.seed()`, then:

  1. payments per second: N orders are placed and given their sandbox intent through the
     services (timed apart), then `tapgo serve` is started as a user starts it and the
     sandbox's signed `payment.succeeded` webhooks are POSTed to it by concurrent clients,
     as a provider delivers them. Each one verifies the signature, records the event, moves
     the intent, marks the order paid and posts the capture and the fee to the ledger. Every
     answer must be "applied", every order paid, and `ledger verify` clean afterwards. The
     same events replayed are then measured too (each must answer "duplicate").
  2. `tapgo ledger verify` on a ledger of 1,000,000 entries: a generator bulk-inserts a
     realistic, valid history (card orders with fees, partial refunds with fee returns,
     stored-value payments, online and counter top-ups with bonuses; with the matching
     orders, intents, refunds and top-ups and cached balances), then the command is timed,
     and verify() in-process rule by rule (to show where the time goes).

See bench/README.md ("Payments"). A benchmark, not a test: it never fails on a slow figure;
it exits non-zero only when something did not work (a webhook not applied, a breach).
"""

import datetime
import hashlib
import hmac
import http.client
import json
import queue
import random
import secrets
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import common
from common import HOST, ROOT

POSTGRES_DB = "tapgo_bench_payments"
WEBHOOK_PATH = "/payments/webhooks/sandbox"
SIGNATURE_HEADER = "Tapgo-Sandbox-Signature"
TARGETS = {"ledger_verify_seconds_postgres": 10.0}


# --- the parent: databases, the server, the clients ----------------------------------------


def child(env: dict, mode: str, *args: str) -> dict:
    """Run this file's child `mode` against the bench database; what it answers."""
    return common.child(__file__, env, "--child", mode, *args)


def sign(secret: bytes, body: bytes) -> str:
    """The sandbox provider's signature (providers/sandbox.py), made here as a provider would."""
    timestamp = int(time.time())
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def event(intent: dict, event_id: str) -> bytes:
    data = {"intent": intent["id"], "amount": intent["amount"], "currency": intent["currency"]}
    return json.dumps(
        {"id": event_id, "type": "payment.succeeded", "data": data}, separators=(",", ":")
    ).encode()


def deliver_all(port: int, secret: bytes, bodies: list[bytes], clients: int) -> dict:
    """POST every body with `clients` concurrent keep-alive connections; time each answer."""
    work: queue.Queue = queue.Queue()
    for body in bodies:
        work.put(body)
    latencies: list[float] = []
    answers: dict[str, int] = {}
    lock = threading.Lock()

    def client():
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        mine, seen = [], {}
        while True:
            try:
                body = work.get_nowait()
            except queue.Empty:
                break
            started = time.perf_counter()
            headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)}
            try:
                conn.request("POST", WEBHOOK_PATH, body=body, headers=headers)
                response = conn.getresponse()
                answer = f"{response.status} {response.read().decode()[:40]}"
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=60)
                answer = f"error {type(exc).__name__}"
            mine.append(time.perf_counter() - started)
            seen[answer] = seen.get(answer, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)
            for answer, n in seen.items():
                answers[answer] = answers.get(answer, 0) + n

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    latencies.sort()
    return {
        "count": len(bodies),
        "seconds": round(seconds, 2),
        "per_second": round(len(bodies) / seconds, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(common.p99(latencies) * 1000, 1),
        "answers": answers,
    }


def bench_webhooks(db: str, env: dict, opts, work: Path) -> dict:
    from run import Server, free_port  # bench/run.py: a server in its own process group

    prepared = child(env, "prepare", str(opts.payments), str(work / f"{db}-intents.json"))
    intents = json.loads((work / f"{db}-intents.json").read_text())
    port = free_port()
    server_env = dict(env, TAPGO_PUBLIC_URL=f"http://{HOST}:{port}")
    command = [sys.executable, "-m", "tapgo.cli", "serve", "--port", str(port)]
    command += ["--workers", str(opts.workers)]
    server = Server("tapgo serve", command, env=server_env, port=port, log=work / f"{db}.log")
    secret = env["TAPGO_SANDBOX_WEBHOOK_SECRET"].encode()
    try:
        server.wait_ready("/")
        warm = max(1, min(len(intents) // 10, 100))
        bodies = [event(intent, f"evt_bench_{i}") for i, intent in enumerate(intents)]
        warmup = deliver_all(port, secret, bodies[:warm], opts.clients)
        cpu = server.cpu_seconds()
        paid = deliver_all(port, secret, bodies[warm:], opts.clients)
        paid["server_cpu_ms_per_payment"] = round(
            (server.cpu_seconds() - cpu) * 1000 / max(paid["count"], 1), 2
        )
        replays = random.Random(1).sample(bodies, min(len(bodies), 500))
        cpu = server.cpu_seconds()
        replayed = deliver_all(port, secret, replays, opts.clients)
        replayed["server_cpu_ms_per_event"] = round(
            (server.cpu_seconds() - cpu) * 1000 / max(replayed["count"], 1), 2
        )
    finally:
        server.stop()
    checked = child(env, "check")
    ok = (
        warmup["answers"] == {"200 applied": warm}
        and paid["answers"] == {"200 applied": paid["count"]}
        and replayed["answers"] == {"200 duplicate": replayed["count"]}
        and checked["orders_paid"] == len(intents)
        and not checked["breaches"]
    )
    return {
        "ok": ok,
        "setup": prepared,
        "clients": opts.clients,
        "server_workers": opts.workers,
        "payments": paid,
        "replays": replayed,
        "after": checked,
    }


def bench_ledger(db: str, env: dict, opts) -> dict:
    generated = child(env, "ledger", str(opts.entries))
    runs, outputs, ok = [], [], not generated["breaches"]
    for _ in range(3):
        started = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "-m", "tapgo.cli", "ledger", "verify"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        runs.append(round(time.perf_counter() - started, 2))
        output = (run.stdout + run.stderr).strip()
        outputs.append(output.splitlines()[-1] if output else "")
        ok = ok and run.returncode == 0
    result = {
        "ok": ok,
        "generated": generated["generated"],
        "counts": generated["counts"],
        "command": "tapgo ledger verify",
        # Wall time of the command, Python and Django starting included: the median of 3.
        "command_seconds": statistics.median(runs),
        "command_seconds_runs": runs,
        "command_output": outputs[-1],
        "verify_seconds": generated["verify_seconds"],  # verify() alone, in-process
        "rules_seconds": generated["rules_seconds"],
        "slowest_queries": generated["slowest_queries"],
    }
    if db == "postgres":
        target = TARGETS["ledger_verify_seconds_postgres"]
        result["target"] = {
            "value": result["command_seconds"],
            "target": target,
            "met": result["command_seconds"] <= target,
        }
    return result


def bench_database(db: str, opts, work: Path) -> dict:
    print(f"\n== {db}", flush=True)
    secret = secrets.token_hex(16)
    with common.fresh_database(db, opts, POSTGRES_DB, TAPGO_SANDBOX_WEBHOOK_SECRET=secret) as env:
        result: dict = {}
        if not opts.skip_webhooks:
            print(f"  {opts.payments} payments through the webhook …", flush=True)
            result["webhooks"] = bench_webhooks(db, env, opts, work)
            w = result["webhooks"]
            print(
                f"  {w['payments']['per_second']} payments/s (p50 {w['payments']['p50_ms']} ms, "
                f"p99 {w['payments']['p99_ms']} ms, "
                f"{w['payments']['server_cpu_ms_per_payment']} ms server CPU each); "
                f"replays {w['replays']['per_second']}/s; "
                f"setup {w['setup']['orders_per_second']} orders+intents/s"
                + ("" if w["ok"] else "  NOT OK: see results.json"),
                flush=True,
            )
        if not opts.skip_ledger:
            print(f"  generating {opts.entries:,} ledger entries and verifying …", flush=True)
            result["ledger"] = bench_ledger(db, env, opts)
            ledger = result["ledger"]
            print(
                f"  generated in {ledger['generated']['seconds']} s; "
                f"`tapgo ledger verify` {ledger['command_seconds']} s "
                f"(verify() {ledger['verify_seconds']} s: "
                + ", ".join(f"{k} {v}" for k, v in ledger["rules_seconds"].items())
                + ")"
                + ("" if ledger["ok"] else "  NOT OK: " + ledger["command_output"]),
                flush=True,
            )
        return result


def main(argv=None) -> int:
    parser = common.arguments(__doc__)
    parser.add_argument("--payments", type=int, default=2000, help="webhooks to time (2000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent deliveries (8)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (2)")
    parser.add_argument("--entries", type=int, default=1_000_000, help="ledger entries (1M)")
    parser.add_argument("--skip-webhooks", action="store_true")
    parser.add_argument("--skip-ledger", action="store_true")
    opts = parser.parse_args(argv)

    figures = common.start_figures("payments.py", argv)
    figures["settings"] = {
        "payments": opts.payments,
        "clients": opts.clients,
        "server_workers": opts.workers,
        "ledger_entries": opts.entries,
    }
    figures["targets"] = TARGETS
    return common.run_databases("payments", opts, figures, bench_database, failures=_failures)


def _failures(figures: dict) -> list[str]:
    return [
        f"{db} {part}"
        for db, result in figures["databases"].items()
        for part, figure in result.items()
        if not figure["ok"]
    ]


# --- the children: inside Django, against the bench database -------------------------------


def seeded():
    """Seed the demo (idempotent) in the migrated database; the café's mini app."""
    from tapgo import demo

    return demo.seed(history_days=0)["cafe"]


def child_prepare(count: int, out: str) -> dict:
    """Place `count` orders, each with its started sandbox intent."""
    from tapgo.catalog.models import Product
    from tapgo.flows.paying import intent_for_order
    from tapgo.identity.services import customer_create_guest
    from tapgo.ordering.services import cart_add, order_place
    from tapgo.payments import services

    cafe = seeded()
    products = list(Product.objects.filter(merchant=cafe.merchant, variants__isnull=True))
    Product.objects.filter(merchant=cafe.merchant).update(stock=None)  # never sold out
    customers = [customer_create_guest() for _ in range(50)]
    rng = random.Random(7)
    intents = []
    started = time.perf_counter()
    for n in range(count):
        customer = customers[n % len(customers)]
        cart_add(
            customer=customer,
            app=cafe,
            product_public_id=rng.choice(products).public_id,
            quantity=rng.randint(1, 3),
        )
        order = order_place(
            customer=customer,
            app=cafe,
            checkout_key=f"bench-{n}",
            fulfilment="pickup",
            pickup_name="Bench",
        )
        intent = services.intent_start(intent=intent_for_order(order=order), return_url="/")
        intents.append(
            {"id": intent.public_id, "amount": intent.amount, "currency": intent.currency}
        )
    seconds = time.perf_counter() - started
    Path(out).write_text(json.dumps(intents))
    return {
        "orders": count,
        "seconds": round(seconds, 2),
        "orders_per_second": round(count / seconds, 1),
    }


def child_check() -> dict:
    from tapgo.flows.checks import verify_books
    from tapgo.ordering.models import Order, OrderStatus
    from tapgo.payments import ledger

    started = time.perf_counter()
    breaches = [str(b) for b in verify_books()]
    return {
        "orders_paid": Order.objects.filter(status=OrderStatus.PAID).count(),
        "breaches": breaches[:10],
        "verify_seconds": round(time.perf_counter() - started, 3),
        **ledger.counts(),
    }


# A block of a café's life, for one customer: what the generator writes, again and again.
CARD_TOTALS = [1800, 2600, 2800, 4400, 5200, 3200]  # six card orders
WALLET_TOTAL, TOPUP, TOPUP_BONUS, COUNTER_TOPUP = 2600, 10000, 500, 500
REFUNDED_TOTAL, REFUNDED = 5200, 1000
ENTRIES_PER_BLOCK = 5 + 2 * 2 + 6 * 4 + 8 + 2


def child_ledger(entries: int) -> dict:
    """Bulk-insert a valid ledger of about `entries` entries, then time verify() by rule."""
    seeded()
    generated = generate(entries) if entries else {}
    return {"generated": generated, **measure_verify()}


def generate(target_entries: int) -> dict:
    from django.conf import settings
    from django.core.management.color import no_style
    from django.db import connection, transaction
    from django.db.models import Max

    from tapgo.core.ids import ALPHABET
    from tapgo.identity.models import Customer
    from tapgo.miniapps.models import MiniApp
    from tapgo.ordering.models import Order
    from tapgo.payments import ledger
    from tapgo.payments.models import (
        AccountKind,
        LedgerAccount,
        LedgerEntry,
        LedgerTransaction,
        PaymentIntent,
        Refund,
        TopUp,
        TxKind,
    )

    started = time.perf_counter()
    rng = random.Random(11)

    def public_id(length: int) -> str:
        return "".join(rng.choices(ALPHABET, k=length))

    def fee(amount: int) -> int:
        return (amount * settings.PLATFORM_FEE_BPS + 5000) // 10000

    def when(value):
        return connection.ops.adapt_datetimefield_value(value)

    app = MiniApp.objects.select_related("merchant", "store").get(slug="harbour-cafe")
    merchant, store, currency = app.merchant, app.store, app.merchant.currency
    blocks = max(1, -(-target_entries // ENTRIES_PER_BLOCK))
    n_customers = min(2000, blocks)
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    first = {
        model: (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
        for model in (Customer, Order, PaymentIntent, Refund, TopUp, LedgerTransaction)
    }
    rows: dict = {model: [] for model in first}
    rows[LedgerEntry] = []
    next_id = dict(first)

    def new(model) -> int:
        next_id[model] += 1
        return next_id[model] - 1

    for _ in range(n_customers):
        rows[Customer].append(
            {"id": new(Customer), "public_id": public_id(12), "created_at": when(now)}
        )
    customers = [row["id"] for row in rows[Customer]]
    with transaction.atomic():
        insert(Customer, rows.pop(Customer))
        account = {
            kind: ledger.account(kind, currency=currency, merchant=merchant)
            for kind in (AccountKind.HELD, AccountKind.REFUNDS, AccountKind.RECEIVABLE)
        }
        account[AccountKind.CLEARING] = ledger.account(
            AccountKind.CLEARING, currency=currency, provider="sandbox"
        )
        account[AccountKind.FEES] = ledger.account(AccountKind.FEES, currency=currency)
        wallets = [
            ledger.account(
                AccountKind.WALLET,
                currency=currency,
                merchant=merchant,
                customer=Customer(pk=pk),
            ).pk
            for pk in customers
        ]
    acc = {kind: a.pk for kind, a in account.items()}
    signs = {a.pk: a.sign for a in account.values()}
    signs.update(dict.fromkeys(wallets, -1))
    moved: dict[int, int] = {}

    def post(kind, key, entries, **links) -> int:
        tx = new(LedgerTransaction)
        rows[LedgerTransaction].append(
            {
                "id": tx,
                "kind": kind,
                "merchant_id": merchant.pk,
                "currency": currency,
                "key": key,
                "created_at": links.pop("at"),
                **links,
            }
        )
        for account_id, amount in entries:
            if amount:
                rows[LedgerEntry].append((tx, account_id, amount))
                moved[account_id] = moved.get(account_id, 0) + amount
        return tx

    def intent(*, amount, customer, at, provider="sandbox", order=None, topup=None, refunded=0):
        pk = new(PaymentIntent)
        pid = public_id(20)
        rows[PaymentIntent].append(
            {
                "id": pk,
                "merchant_id": merchant.pk,
                "public_id": pid,
                "purpose": "order" if order else "topup",
                "purpose_id": order or topup,
                "customer_id": customer,
                "provider": provider,
                "provider_ref": pid if provider == "sandbox" else "",
                "idempotency_key": f"topup:{topup}" if topup else None,
                "amount": amount,
                "currency": currency,
                "status": "succeeded",
                "refunded_amount": refunded,
                "counted": True,
                "created_at": at,
                "updated_at": at,
            }
        )
        return pk

    def order(total, customer, n, at, paid) -> int:
        pk = new(Order)
        day = now.date() - datetime.timedelta(days=1 + n // 1000)
        rows[Order].append(
            {
                "id": pk,
                "merchant_id": merchant.pk,
                "public_id": public_id(16),
                "app_id": app.pk,
                "store_id": store.pk,
                "customer_id": customer,
                "status": "completed",
                "fulfilment": "pickup",
                "pickup_name": "Bench",
                "currency": currency,
                "total": total,
                "business_date": connection.ops.adapt_datefield_value(day),
                "number": f"A{n % 1000:03d}",
                "checkout_key": f"bench-ledger-{pk}",
                "created_at": at,
                "expires_at": at,
                "paid_at": paid,
                "updated_at": paid,
            }
        )
        return pk

    def topup(customer, amount, bonus, method, at) -> int:
        pk = new(TopUp)
        rows[TopUp].append(
            {
                "id": pk,
                "merchant_id": merchant.pk,
                "public_id": public_id(16),
                "customer_id": customer,
                "amount": amount,
                "bonus": bonus,
                "currency": currency,
                "method": method,
                "status": "succeeded",
                "key": f"bench-ledger-topup-{pk}",
                "created_at": at,
            }
        )
        return pk

    orders_made = 0
    for b in range(blocks):
        customer, wallet = customers[b % n_customers], wallets[b % n_customers]
        at_time = now - datetime.timedelta(minutes=blocks - b)
        at = when(at_time)
        # An online top-up with its bonus and fee.
        t = topup(customer, TOPUP, TOPUP_BONUS, "online", at)
        i = intent(amount=TOPUP, customer=customer, at=at, topup=t)
        post(
            TxKind.TOPUP,
            f"topup:{t}",
            [
                (acc["clearing"], TOPUP),
                (wallet, -(TOPUP + TOPUP_BONUS)),
                (acc["held"], TOPUP_BONUS),
            ],
            topup_id=t,
            intent_id=i,
            at=at,
        )
        post(
            TxKind.FEE,
            f"fee:capture:{i}",
            [(acc["held"], fee(TOPUP)), (acc["fees"], -fee(TOPUP))],
            intent_id=i,
            at=at,
        )
        # Two orders paid from the card.
        for _ in range(2):
            o = order(WALLET_TOTAL, customer, orders_made, at, at)
            orders_made += 1
            i = intent(amount=WALLET_TOTAL, customer=customer, at=at, provider="wallet", order=o)
            post(
                TxKind.WALLET_PAYMENT,
                f"capture:{i}",
                [(wallet, WALLET_TOTAL), (acc["held"], -WALLET_TOTAL)],
                intent_id=i,
                at=at,
            )
        # Card orders, the last of them partly refunded.
        for k, total in enumerate([*CARD_TOTALS, REFUNDED_TOTAL]):
            refunded = REFUNDED if k == len(CARD_TOTALS) else 0
            o = order(total, customer, orders_made, at, at)
            orders_made += 1
            i = intent(amount=total, customer=customer, at=at, order=o, refunded=refunded)
            post(
                TxKind.CAPTURE,
                f"capture:{i}",
                [(acc["clearing"], total), (acc["held"], -total)],
                intent_id=i,
                at=at,
            )
            post(
                TxKind.FEE,
                f"fee:capture:{i}",
                [(acc["held"], fee(total)), (acc["fees"], -fee(total))],
                intent_id=i,
                at=at,
            )
            if refunded:
                r = new(Refund)
                rows[Refund].append(
                    {
                        "id": r,
                        "merchant_id": merchant.pk,
                        "public_id": public_id(16),
                        "intent_id": i,
                        "amount": refunded,
                        "currency": currency,
                        "status": "succeeded",
                        "reason": "Wrong order",
                        "provider_ref": f"re_bench_{r}",
                        "created_at": at,
                        "updated_at": at,
                    }
                )
                post(
                    TxKind.REFUND,
                    f"refund:{r}",
                    [(acc["refunds"], refunded), (acc["clearing"], -refunded)],
                    intent_id=i,
                    refund_id=r,
                    at=at,
                )
                back = fee(total) - fee(total - refunded)
                post(
                    TxKind.FEE,
                    f"fee:refund:{r}",
                    [(acc["held"], -back), (acc["fees"], back)],
                    intent_id=i,
                    refund_id=r,
                    at=at,
                )
        # Cash at the counter for the card (no bonus at this amount).
        t = topup(customer, COUNTER_TOPUP, 0, "counter", at)
        post(
            TxKind.COUNTER_TOPUP,
            f"topup:{t}",
            [(acc["receivable"], COUNTER_TOPUP), (wallet, -COUNTER_TOPUP)],
            topup_id=t,
            at=at,
        )
    built = time.perf_counter() - started
    entries = rows.pop(LedgerEntry)
    with transaction.atomic():
        for model in (TopUp, Order, PaymentIntent, Refund, LedgerTransaction):
            insert(model, rows[model])
        first_entry = (LedgerEntry.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
        insert(
            LedgerEntry,
            [(first_entry + n, *entry) for n, entry in enumerate(entries)],
            names=["id", "transaction_id", "account_id", "amount"],
        )
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {LedgerAccount._meta.db_table} SET balance = balance + %s WHERE id = %s",
                [(signs[pk] * total, pk) for pk, total in sorted(moved.items())],
            )
            models = [Customer, Order, PaymentIntent, Refund, TopUp, LedgerTransaction, LedgerEntry]
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        # What autovacuum does soon after such a load (statistics; on PostgreSQL also the
        # visibility map and hint bits, without which the first reads rewrite every page).
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return {
        "entries": len(entries),
        "blocks": blocks,
        "customers": n_customers,
        "orders": orders_made,
        "seconds": round(seconds, 1),
        "seconds_building_rows": round(built, 1),
        "method": "COPY" if connection.vendor == "postgresql" else "executemany",
    }


def insert(model, rows: list, names: list[str] | None = None) -> None:
    """Write rows fast: COPY on PostgreSQL, executemany on SQLite. Rows are dicts by field
    name (a field left out takes its default; callable defaults must be given), or tuples
    in the order of `names`."""
    from django.db import connection

    if not rows:
        return
    if names is None:
        fields = model._meta.concrete_fields
        names = [f.attname for f in fields]
        defaults = [
            json.dumps(f.get_default()) if f.get_internal_type() == "JSONField" else f.get_default()
            for f in fields
        ]
        rows = [
            tuple(row.get(name, default) for name, default in zip(names, defaults, strict=True))
            for row in rows
        ]
    columns = ", ".join(model._meta.get_field(name).column for name in names)
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(names))
            sql = f'INSERT INTO "{table}" ({columns}) VALUES ({marks})'
            for start in range(0, len(rows), 50_000):
                cursor.executemany(sql, rows[start : start + 50_000])


def measure_verify() -> dict:
    """verify() once, timed as a whole, by rule, and by query."""
    from django.db import connection

    from tapgo.flows import checks
    from tapgo.payments import ledger

    parts = ("_balance_mismatches", "_verify_intents", "_verify_topups")
    spent = dict.fromkeys((*parts, "_verify_orders"), 0.0)
    real = {name: getattr(ledger, name) for name in parts}
    real["_verify_orders"] = checks._verify_orders

    def timed(name):
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return real[name](*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - started

        return run

    queries: list[tuple[float, str]] = []

    def clock(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append((time.perf_counter() - started, " ".join(sql.split())[:160]))

    for name in parts:
        setattr(ledger, name, timed(name))
    checks._verify_orders = timed("_verify_orders")
    try:
        with connection.execute_wrapper(clock):
            started = time.perf_counter()
            breaches = [str(b) for b in checks.verify_books()]
            total = time.perf_counter() - started
    finally:
        for name in parts:
            setattr(ledger, name, real[name])
        checks._verify_orders = real["_verify_orders"]
    rules = {
        "balanced, currency, negative wallet": total - sum(spent.values()),
        "cached balances": spent["_balance_mismatches"],
        "intents (captures, amounts, refunds)": spent["_verify_intents"],
        "orders": spent["_verify_orders"],
        "top-ups": spent["_verify_topups"],
    }
    return {
        "breaches": breaches[:10],
        "verify_seconds": round(total, 2),
        "rules_seconds": {k: round(v, 2) for k, v in rules.items()},
        "slowest_queries": [
            {"seconds": round(s, 2), "sql": sql} for s, sql in sorted(queries, reverse=True)[:5]
        ],
        "counts": ledger.counts(),
    }


def child_main(mode: str, args: list[str]) -> int:
    common.setup_django(migrate=mode != "check")
    if mode == "prepare":
        result = child_prepare(int(args[0]), args[1])
    elif mode == "check":
        result = child_check()
    else:
        result = child_ledger(int(args[0]))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        sys.exit(child_main(sys.argv[2], sys.argv[3:]))
    sys.exit(main())
