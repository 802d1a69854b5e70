"""The double-entry ledger: posting balanced transactions, and verifying every invariant.

Conventions (see docs/decisions/0004-ledger.md):

- An entry's amount is a debit when positive and a credit when negative; the entries of one
  transaction sum to zero, in the transaction's one currency.
- An account's cached balance is the sum of its entries on its normal side, updated by the
  same database transaction that writes the entries, account by account in id order (so two
  postings never wait on each other in a cycle).
- A wallet's balance may not go below zero: a CHECK constraint in the database refuses the
  update, so two devices spending one balance at once cannot both succeed.
- Every transaction has a unique key naming what it is for ("capture:<intent>"), so a retried
  or replayed posting is refused by the database instead of counted twice.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum

from tapgo.payments.models import (
    DEBIT_NORMAL,
    AccountKind,
    IntentStatus,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    PaymentIntent,
    Refund,
    RefundStatus,
    TopUp,
    TopUpStatus,
    TxKind,
)


class LedgerError(ValueError):
    pass


class InsufficientFunds(LedgerError):
    """A wallet would go below zero."""


def account(
    kind: str, *, currency: str, merchant=None, customer=None, provider: str = ""
) -> LedgerAccount:
    """The account, made on first use (two first uses at once make one)."""
    key = ":".join(
        [
            kind,
            str(merchant.pk if merchant else "-"),
            str(customer.pk if customer else "-"),
            provider or "-",
            currency,
        ]
    )
    found = LedgerAccount.objects.filter(key=key).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return LedgerAccount.objects.create(
                key=key,
                kind=kind,
                currency=currency,
                merchant=merchant,
                customer=customer,
                provider=provider,
            )
    except IntegrityError:
        return LedgerAccount.objects.get(key=key)


def post(
    *,
    kind: str,
    merchant,
    currency: str,
    key: str,
    entries: Iterable[tuple[LedgerAccount, int]],
    memo: str = "",
    **links,
) -> LedgerTransaction | None:
    """Write one balanced transaction and move the cached balances with it.

    Returns None, changing nothing, when a transaction with this key exists already.
    Raises InsufficientFunds when a wallet would go negative (nothing is written).
    """
    entries = [(acc, amount) for acc, amount in entries if amount]
    if len(entries) < 2:
        raise LedgerError("a transaction needs at least two entries")
    if sum(amount for _, amount in entries) != 0:
        raise LedgerError("entries do not balance")
    if any(acc.currency != currency for acc, _ in entries):
        raise LedgerError("an account is in another currency")
    with transaction.atomic():  # all of it or nothing
        return _write(kind, merchant, currency, key, entries, memo, links)


def _write(kind, merchant, currency, key, entries, memo, links) -> LedgerTransaction | None:
    try:
        with transaction.atomic():
            tx = LedgerTransaction.objects.create(
                kind=kind, merchant=merchant, currency=currency, key=key, memo=memo, **links
            )
    except IntegrityError:
        if LedgerTransaction.objects.filter(key=key).exists():
            return None
        raise
    LedgerEntry.objects.bulk_create(
        LedgerEntry(transaction=tx, account=acc, amount=amount) for acc, amount in entries
    )
    moves: dict[int, int] = {}
    signs = {acc.pk: acc.sign for acc, _ in entries}
    for acc, amount in entries:
        moves[acc.pk] = moves.get(acc.pk, 0) + amount
    for pk in sorted(moves):
        if not moves[pk]:
            continue
        try:
            with transaction.atomic():
                LedgerAccount.objects.filter(pk=pk).update(
                    balance=F("balance") + signs[pk] * moves[pk]
                )
        except IntegrityError:
            raise InsufficientFunds("not enough stored value") from None
    return tx


def reverse(tx: LedgerTransaction, *, kind: str, key: str, memo: str = "", **links):
    """Undo a transaction with a new one: the same entries, signs flipped (for what the
    original was, unless told)."""
    entries = [(e.account, -e.amount) for e in tx.entries.select_related("account")]
    if tx.purpose_id is not None:
        links.setdefault("purpose", tx.purpose)
        links.setdefault("purpose_id", tx.purpose_id)
    return post(
        kind=kind,
        merchant=tx.merchant,
        currency=tx.currency,
        key=key,
        entries=entries,
        memo=memo,
        **links,
    )


def balance(acc: LedgerAccount | None) -> int:
    return 0 if acc is None else acc.balance


# --- verification --------------------------------------------------------------------------


@dataclass
class Breach:
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


def collector(breaches: list[Breach], limit: int):
    """`add(rule, rows, describe)`: the first `limit` rows breaking a rule, as breaches."""

    def add(rule, rows, describe):
        for row in rows[:limit]:
            breaches.append(Breach(rule, describe(row)))

    return add


def verify(*, limit: int = 50) -> list[Breach]:
    """Check every invariant of the books; returns the breaches found (empty when sound).

    Each rule is one aggregate query, so the check stays fast on millions of entries. That
    what an order was paid is what it cost is checked with the order (flows/checks.py).
    """
    breaches: list[Breach] = []
    add = collector(breaches, limit)

    add(
        "unbalanced transaction",
        list(
            LedgerEntry.objects.values("transaction_id")
            .annotate(total=Sum("amount"))
            .exclude(total=0)
            .order_by("transaction_id")[:limit]
        ),
        lambda r: f"transaction {r['transaction_id']} sums to {r['total']}",
    )
    add(
        "currency mismatch",
        list(
            LedgerEntry.objects.exclude(account__currency=F("transaction__currency"))
            .values("id", "transaction_id")
            .order_by("id")[:limit]
        ),
        lambda r: f"entry {r['id']} of transaction {r['transaction_id']}",
    )
    add(
        "cached balance differs from entries",
        _balance_mismatches(limit),
        lambda r: f"account {r[0]} ({r[1]}) caches {r[2]}, entries give {r[3]}",
    )
    add(
        "negative wallet",
        list(
            LedgerAccount.objects.filter(kind=AccountKind.WALLET, balance__lt=0)
            .values("id", "balance")
            .order_by("id")[:limit]
        ),
        lambda r: f"wallet {r['id']} holds {r['balance']}",
    )
    _verify_intents(add, limit)
    _verify_topups(add, limit)
    return breaches


def _balance_mismatches(limit: int) -> list[tuple]:
    debit_kinds = sorted(k.value for k in DEBIT_NORMAL)
    account_table = LedgerAccount._meta.db_table
    entry_table = LedgerEntry._meta.db_table
    placeholders = ", ".join(["%s"] * len(debit_kinds))
    sql = f"""
        SELECT a.id, a.kind, a.balance, COALESCE(s.total, 0) *
               CASE WHEN a.kind IN ({placeholders}) THEN 1 ELSE -1 END AS derived
        FROM {account_table} a
        LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM {entry_table}
                   GROUP BY account_id) s ON s.account_id = a.id
        WHERE a.balance <> COALESCE(s.total, 0) *
              CASE WHEN a.kind IN ({placeholders}) THEN 1 ELSE -1 END
        ORDER BY a.id LIMIT %s
    """  # noqa: S608 (table names from the models, values as parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*debit_kinds, *debit_kinds, limit])
        return cursor.fetchall()


CAPTURE_KINDS = [
    TxKind.CAPTURE,
    TxKind.WALLET_PAYMENT,
    TxKind.TOPUP,
    TxKind.COUNTER_TOPUP,
    TxKind.COUNTER_PAYMENT,
]

# The rules below compare per-row aggregates in the database and bring back only the rows
# that break a rule (none in sound books), so verify stays fast on millions of entries.
# (Table names come from the models; every value is a parameter.)


def _tables() -> dict[str, str]:
    models = {
        "entry": LedgerEntry,
        "tx": LedgerTransaction,
        "account": LedgerAccount,
        "intent": PaymentIntent,
        "refund": Refund,
        "topup": TopUp,
    }
    return {name: connection.ops.quote_name(m._meta.db_table) for name, m in models.items()}


def _marks(values) -> str:
    return ", ".join(["%s"] * len(values))


def _fetch(sql: str, params: list, limit: int | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if limit is None else cursor.fetchmany(limit)


def _verify_intents(add, limit: int) -> None:
    t = _tables()
    succeeded = IntentStatus.SUCCEEDED
    # Exactly one capture for each succeeded intent, none for any other.
    rows = _fetch(
        f"""
        SELECT i.id, i.status, COALESCE(c.n, 0)
        FROM {t["intent"]} i
        LEFT JOIN (SELECT intent_id, COUNT(*) AS n FROM {t["tx"]}
                   WHERE kind IN ({_marks(CAPTURE_KINDS)}) AND intent_id IS NOT NULL
                   GROUP BY intent_id) c ON c.intent_id = i.id
        WHERE (i.status = %s AND COALESCE(c.n, 0) <> 1)
           OR (i.status <> %s AND COALESCE(c.n, 0) <> 0)
        ORDER BY i.id LIMIT %s
        """,  # noqa: S608
        [*CAPTURE_KINDS, succeeded, succeeded, limit],
    )
    add("capture count", rows, lambda r: f"intent {r[0]} is {r[1]} with {r[2]} captures")

    # What each intent's captures moved equals its amount (the money side of the capture:
    # clearing for a provider, the wallet for stored value) ...
    captured = [TxKind.CAPTURE, TxKind.TOPUP]
    refunds = [TxKind.REFUND, TxKind.REFUND_FAILED]
    # Only the rows that can count (the sums below pick them), so less is sorted and summed.
    # (Money paid at the counter is the merchant's cash: the receivable; a refund's tip part
    # comes off the tips account, the rest off refunds.)
    tx_kinds = [*captured, TxKind.WALLET_PAYMENT, TxKind.COUNTER_PAYMENT, *refunds]
    account_kinds = [
        AccountKind.CLEARING,
        AccountKind.WALLET,
        AccountKind.RECEIVABLE,
        AccountKind.REFUNDS,
        AccountKind.TIPS,
    ]
    moved = f"""
        SELECT t.intent_id,
               SUM(CASE WHEN t.kind IN ({_marks(captured)}) AND a.kind = %s
                        THEN e.amount END) AS clearing,
               SUM(CASE WHEN t.kind = %s AND a.kind = %s THEN e.amount END) AS wallet,
               SUM(CASE WHEN t.kind = %s AND a.kind = %s THEN e.amount END) AS counter,
               SUM(CASE WHEN t.kind IN ({_marks(refunds)}) AND a.kind IN (%s, %s)
                        THEN e.amount END) AS refunded
        FROM {t["entry"]} e
        JOIN {t["tx"]} t ON t.id = e.transaction_id
        JOIN {t["account"]} a ON a.id = e.account_id
        WHERE t.intent_id IS NOT NULL
          AND t.kind IN ({_marks(tx_kinds)}) AND a.kind IN ({_marks(account_kinds)})
        GROUP BY t.intent_id
    """  # noqa: S608
    moved_params = [
        *captured,
        AccountKind.CLEARING,
        TxKind.WALLET_PAYMENT,
        AccountKind.WALLET,
        TxKind.COUNTER_PAYMENT,
        AccountKind.RECEIVABLE,
        *refunds,
        AccountKind.REFUNDS,
        AccountKind.TIPS,
        *tx_kinds,
        *account_kinds,
    ]
    # ... and refunds net of failed ones equal the intent's refunded amount, within its amount.
    live = f"""
        SELECT intent_id, SUM(amount) AS total FROM {t["refund"]}
        WHERE status <> %s GROUP BY intent_id
    """  # noqa: S608
    sql = f"""
        SELECT i.id, i.amount, i.refunded_amount, i.counted,
               COALESCE(m.wallet, m.clearing, m.counter, 0), COALESCE(m.refunded, 0),
               COALESCE(l.total, 0)
        FROM {t["intent"]} i
        LEFT JOIN ({moved}) m ON m.intent_id = i.id
        LEFT JOIN ({live}) l ON l.intent_id = i.id
        WHERE i.status = %s
          AND (COALESCE(m.wallet, m.clearing, m.counter, 0) <> i.amount
               OR COALESCE(m.refunded, 0) <> i.refunded_amount
               OR COALESCE(l.total, 0) <> i.refunded_amount
               OR i.refunded_amount > i.amount
               OR (i.counted = %s AND i.refunded_amount <> i.amount))
        ORDER BY i.id
    """  # noqa: S608
    # Rows as the database gives them: (id, amount, what the captures moved) and
    # (id, amount, refunded, what the ledger refunded, counted).
    bad_amount: list[tuple] = []
    bad_refund: list[tuple] = []
    with connection.cursor() as cursor:
        cursor.execute(sql, [*moved_params, RefundStatus.FAILED, succeeded, False])
        while (len(bad_amount) < limit or len(bad_refund) < limit) and (
            batch := cursor.fetchmany(500)
        ):
            for pk, amount, refunded_amount, counted, got_moved, got, live_total in batch:
                if got_moved != amount and len(bad_amount) < limit:
                    bad_amount.append((pk, amount, got_moved))
                if (
                    got != refunded_amount
                    or live_total != refunded_amount
                    or refunded_amount > amount
                    or (not counted and refunded_amount != amount)
                ) and len(bad_refund) < limit:
                    bad_refund.append((pk, amount, refunded_amount, got, counted))
    add(
        "capture amount",
        bad_amount,
        lambda r: f"intent {r[0]} of {r[1]} captured {r[2]}",
    )
    add(
        "refund",
        bad_refund,
        lambda r: (
            f"intent {r[0]} of {r[1]} records {r[2]} refunded, the ledger {r[3]}"
            + ("" if r[4] else " (a surplus capture must be refunded in full)")
        ),
    )
    # Nothing refunded on an intent that never succeeded.
    add(
        "refund without capture",
        list(
            Refund.objects.exclude(intent__status=succeeded)
            .values_list("pk", "intent_id")
            .order_by("pk")[:limit]
        ),
        lambda r: f"refund {r[0]} on intent {r[1]}, which did not succeed",
    )


def _verify_topups(add, limit: int) -> None:
    t = _tables()
    posted = [TxKind.TOPUP, TxKind.COUNTER_TOPUP]
    rows = _fetch(
        f"""
        SELECT u.id, u.status, COALESCE(p.n, 0)
        FROM {t["topup"]} u
        LEFT JOIN (SELECT topup_id, COUNT(*) AS n FROM {t["tx"]}
                   WHERE kind IN ({_marks(posted)}) AND topup_id IS NOT NULL
                   GROUP BY topup_id) p ON p.topup_id = u.id
        WHERE (u.status = %s AND COALESCE(p.n, 0) <> 1)
           OR (u.status <> %s AND COALESCE(p.n, 0) <> 0)
        ORDER BY u.id LIMIT %s
        """,  # noqa: S608
        [*posted, TopUpStatus.SUCCEEDED, TopUpStatus.SUCCEEDED, limit],
    )
    add("top-up", rows, lambda r: f"top-up {r[0]} is {r[1]} with {r[2]} postings")


def counts() -> dict[str, int]:
    return {
        "transactions": LedgerTransaction.objects.count(),
        "entries": LedgerEntry.objects.count(),
        "accounts": LedgerAccount.objects.count(),
    }
