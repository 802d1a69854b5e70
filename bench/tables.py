"""Table benchmarks: one table's shared cart under 8 phones; figures written to
bench/results.json under "tables".

    uv run python bench/tables.py                # SQLite and PostgreSQL (about 2 minutes)
    uv run python bench/tables.py --db sqlite    # or postgres; both is the default

For each database, a fresh one (a temporary TAPGO_VAR_DIR; for PostgreSQL a database of its
own), migrated and seeded with `tapgo.demo.seed()`; the café takes payment after eating, and
its stock is not counted. `tapgo serve` is started as a user starts it (2 workers). Then:

  1. adds: 8 phones scan table 1's code (each its own guest and cookies) and, all at once,
     each POSTs "add one" (the menu's items in turn) to the table's shared cart over HTTP
     as fast as it is answered, for --seconds. Every add answered must be in the cart
     afterwards: the cart's quantity equals the adds answered (no lost update). Figures:
     adds/s, p50/p99, server CPU per add.
  2. rounds: the same 8 phones, each adding one item and then sending the table's cart to
     the kitchen (checkout, pay after eating), at once, for --seconds. Two phones sending the
     same cart at once make one round (the other is told the cart changed); every item
     answered as added is in exactly one round or still in the cart. Figures: rounds
     (orders) per second, items per round, refusals.

A benchmark, not a test: it never fails on a slow figure; it exits non-zero only when
something did not work (a lost update, an item in two rounds, an unexpected answer).
"""

import secrets
import statistics
import sys
import threading
import time
from pathlib import Path

import common
from common import HOST

POSTGRES_DB = "tapgo_bench_tables"


def child(env: dict, mode: str, *args: str) -> dict:
    return common.child(__file__, env, "--child", mode, *args)


class Phone:
    """One customer's phone: its own connection and cookies."""

    def __init__(self, port: int):
        self.client = common.Client(port)
        self.jar: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, bytes]:
        answer = self.client.request(self.jar, method, path, form)
        return answer.status, answer.location, answer.body


def _load(phones: list[Phone], seconds: float, step) -> tuple[list[float], list, float]:
    """Run step(phone) in one thread per phone, together, for `seconds`."""
    latencies: list[float] = []
    outcomes: list = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(phones))

    def run(phone: Phone) -> None:
        barrier.wait()
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            started = time.perf_counter()
            outcome = step(phone)
            took = time.perf_counter() - started
            with lock:
                latencies.append(took)
                outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(p,)) for p in phones]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(latencies), outcomes, time.perf_counter() - started


def bench_database(db: str, opts, work: Path) -> dict:
    from run import Server, free_port  # bench/run.py: a server in its own process group

    print(f"\n== {db}", flush=True)
    with common.fresh_database(db, opts, POSTGRES_DB) as env:
        demo = child(env, "prepare")
        port = free_port()
        env["TAPGO_PUBLIC_URL"] = f"http://{HOST}:{port}"
        command = [sys.executable, "-m", "tapgo.cli", "serve", "--port", str(port)]
        command += ["--workers", str(opts.workers)]
        server = Server("tapgo serve", command, env=env, port=port, log=work / f"{db}.log")
        try:
            server.wait_ready("/")
            phones = [Phone(port) for _ in range(opts.phones)]
            for phone in phones:
                status, _, _ = phone.request("GET", f"/s/{demo['code']}")
                assert status == 200, status
            items = demo["products"]
            add_path = f"/m/{demo['slug']}/cart/add"

            def add(phone: Phone) -> dict:
                phone.turn = getattr(phone, "turn", -1) + 1
                return {"item": items[phone.turn % len(items)], "quantity": "1"}

            def one_add(phone: Phone) -> int:
                status, _, _ = phone.request("POST", add_path, add(phone))
                return status

            cpu = server.cpu_seconds()
            latencies, outcomes, seconds = _load(phones, opts.seconds, one_add)
            cpu = server.cpu_seconds() - cpu
            answered = sum(1 for o in outcomes if o == 302)
            in_cart = child(env, "cart")["quantity"]
            adds = {
                "phones": len(phones),
                "adds_answered": answered,
                "other_answers": len(outcomes) - answered,
                "in_cart_after": in_cart,
                "lost_updates": answered - in_cart,
                "per_second": round(answered / seconds, 1),
                "p50_ms": round(statistics.median(latencies) * 1000, 1),
                "p99_ms": round(common.p99(latencies) * 1000, 1),
                "server_cpu_ms_per_add": round(cpu * 1000 / max(len(outcomes), 1), 2),
            }
            print(
                f"  shared-cart adds: {adds['per_second']}/s from {len(phones)} phones "
                f"(p50 {adds['p50_ms']} ms, p99 {adds['p99_ms']} ms, "
                f"{adds['server_cpu_ms_per_add']} ms CPU each); lost updates: "
                f"{adds['lost_updates']}",
                flush=True,
            )

            # Rounds: each phone adds one item, then sends the table's cart.
            checkout_path = f"/m/{demo['slug']}/checkout"
            child(env, "empty")

            def add_and_send(phone: Phone) -> str:
                status, _, _ = phone.request("POST", add_path, add(phone))
                if status != 302:
                    return f"add {status}"
                status, location, _ = phone.request(
                    "POST",
                    checkout_path,
                    {"checkout_key": secrets.token_urlsafe(12), "fulfilment": "dine_in"},
                )
                if status != 302:
                    return f"send {status}"
                return "sent" if "/orders/" in location else "refused"

            cpu = server.cpu_seconds()
            latencies, outcomes, seconds = _load(phones, opts.seconds, add_and_send)
            cpu = server.cpu_seconds() - cpu
            after = child(env, "rounds")
            added = len(outcomes) - sum(1 for o in outcomes if o.startswith("add "))
            rounds = {
                "phones": len(phones),
                "attempts": len(outcomes),
                "rounds": after["rounds"],
                "per_second": round(after["rounds"] / seconds, 1),
                "items_per_round": round(after["items_in_rounds"] / max(after["rounds"], 1), 2),
                "refused_cart_changed": sum(1 for o in outcomes if o == "refused"),
                "other_answers": sorted({o for o in outcomes if o not in ("sent", "refused")}),
                "items_added": added,
                "items_in_rounds": after["items_in_rounds"],
                "items_left_in_cart": after["left_in_cart"],
                "p50_ms_add_and_send": round(statistics.median(latencies) * 1000, 1),
                "server_cpu_ms_per_round": round(cpu * 1000 / max(after["rounds"], 1), 2),
            }
            print(
                f"  rounds: {rounds['per_second']} orders/s ({rounds['items_per_round']} "
                f"items each; {rounds['refused_cart_changed']} sends refused as the cart "
                f"changed); items added {added}, in rounds {after['items_in_rounds']}, "
                f"left {after['left_in_cart']}",
                flush=True,
            )
        finally:
            server.stop()
    ok = (
        adds["lost_updates"] == 0
        and adds["other_answers"] == 0
        and not rounds["other_answers"]
        and rounds["items_added"] == rounds["items_in_rounds"] + rounds["items_left_in_cart"]
        and not after["breaches"]
    )
    return {"ok": ok, "adds": adds, "rounds": rounds}


def main(argv=None) -> int:
    parser = common.arguments(__doc__)
    parser.add_argument("--phones", type=int, default=8, help="phones at the table (8)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per load (10)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (2)")
    opts = parser.parse_args(argv)
    figures = common.start_figures("tables.py", argv)
    figures["settings"] = {
        "phones": opts.phones,
        "seconds": opts.seconds,
        "server_workers": opts.workers,
    }
    return common.run_databases("tables", opts, figures, bench_database)


# --- the children: inside Django, against the bench database -------------------------------


def child_prepare() -> dict:
    from tapgo import demo
    from tapgo.catalog.models import Product
    from tapgo.merchants.models import Store
    from tapgo.miniapps.models import EntryCode

    cafe = demo.seed(history_days=0)["cafe"]
    Store.objects.filter(merchant=cafe.merchant).update(dine_in_payment="pay_after")
    Product.objects.filter(merchant=cafe.merchant).update(stock=None)
    # Items without options, taken in turn: no line reaches the 99-a-line cap in a run.
    products = Product.objects.filter(merchant=cafe.merchant, variants__isnull=True)
    code = EntryCode.objects.get(app=cafe, kind="table", table_label="1").code
    return {"slug": cafe.slug, "code": code, "products": [p.public_id for p in products]}


def _group():
    from tapgo.ordering.models import TableGroup

    return TableGroup.objects.get(status="open", table_label="1", app__slug="harbour-cafe")


def child_cart() -> dict:
    from django.db.models import Sum

    from tapgo.ordering.models import CartLine

    quantity = CartLine.objects.filter(cart__group=_group()).aggregate(q=Sum("quantity"))["q"]
    return {"quantity": quantity or 0}


def child_empty() -> dict:
    from tapgo.ordering.models import CartLine

    CartLine.objects.filter(cart__group=_group()).delete()
    return {}


def child_rounds() -> dict:
    from django.db.models import Sum

    from tapgo.flows.checks import verify_books
    from tapgo.ordering.models import CartLine, OrderLine

    group = _group()
    lines = OrderLine.objects.filter(order__group=group)
    return {
        "rounds": group.rounds.count(),
        "items_in_rounds": lines.aggregate(q=Sum("quantity"))["q"] or 0,
        "left_in_cart": CartLine.objects.filter(cart__group=group).aggregate(q=Sum("quantity"))["q"]
        or 0,
        "breaches": [str(b) for b in verify_books()],
    }


def child_main(mode: str) -> None:
    import json

    common.setup_django(migrate=mode == "prepare")
    result = {
        "prepare": child_prepare,
        "cart": child_cart,
        "empty": child_empty,
        "rounds": child_rounds,
    }[mode]()
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child_main(sys.argv[2])
    else:
        sys.exit(main())
