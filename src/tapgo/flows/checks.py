"""The books' invariants that cross domains, with the ledger's own (payments/ledger.py) and
the points ledger's (membership): what `tapgo ledger verify` and the tests check after every
test that moves money."""

from django.db import connection

from tapgo.membership import services as membership
from tapgo.membership.models import CounterSale
from tapgo.ordering.models import (
    Order,
    OrderStatus,
    TableGroup,
    TableGroupStatus,
    TableShare,
    TableShareStatus,
)
from tapgo.payments import ledger
from tapgo.payments.models import (
    AccountKind,
    IntentStatus,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    PaymentIntent,
    Purpose,
    TxKind,
)


def verify_books(*, limit: int = 50) -> list[ledger.Breach]:
    """Every breach of the books (empty when sound): the ledger's rules, that each order
    was paid what it cost (no more, no less) or, unpaid, kept nothing, and that members'
    cached points are their points ledger's."""
    breaches = ledger.verify(limit=limit)
    add = ledger.collector(breaches, limit)
    _verify_orders(add, limit)
    _verify_counter(add, limit)
    _verify_points(add, limit)
    return breaches


def _verify_points(add, limit: int) -> None:
    add(
        "cached points differ from the points ledger",
        membership.verify_balances(limit=limit),
        lambda r: (
            f"member {r[0]} caches {r[1]} points ({r[3]} lifetime), "
            f"the ledger gives {r[2]} ({r[4]} lifetime)"
        ),
    )
    add(
        "points lots",
        membership.verify_lots(limit=limit),
        lambda r: f"member {r[0]} has {r[1]} points, its lots hold {r[2]}",
    )


def _verify_counter(add, limit: int) -> None:
    """What each counter sale took from the card was paid by counted payments of purpose
    `counter` exactly, and no such payment names anything but a counter sale."""
    sales = connection.ops.quote_name(CounterSale._meta.db_table)
    intents = connection.ops.quote_name(PaymentIntent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT c.purpose_id, s.id, COALESCE(s.card, 0), c.total
            FROM (SELECT purpose_id, SUM(amount) AS total FROM {intents}
                  WHERE purpose = %s AND status = %s AND counted = %s
                  GROUP BY purpose_id) c
            LEFT JOIN {sales} s ON s.id = c.purpose_id
            WHERE s.id IS NULL OR c.total <> s.card
            UNION ALL
            SELECT s.id, s.id, s.card, 0 FROM {sales} s
            WHERE s.card > 0 AND NOT EXISTS (
                SELECT 1 FROM {intents} i WHERE i.purpose = %s AND i.purpose_id = s.id
                  AND i.status = %s AND i.counted = %s)
            ORDER BY 1 LIMIT %s
            """,  # noqa: S608 (table names from the models, values as parameters)
            [
                Purpose.COUNTER,
                IntentStatus.SUCCEEDED,
                True,
                Purpose.COUNTER,
                IntentStatus.SUCCEEDED,
                True,
                limit,
            ],  # fmt: skip
        )
        rows = cursor.fetchall()
    add(
        "counter sale",
        rows,
        lambda r: (
            f"counter payments name sale {r[0]}, which does not exist"
            if r[1] is None
            else f"counter sale {r[1]} took {r[2]} from the card, its payments {r[3]}"
        ),
    )


def _verify_orders(add, limit: int) -> None:
    orders = connection.ops.quote_name(Order._meta.db_table)
    groups = connection.ops.quote_name(TableGroup._meta.db_table)
    intents = connection.ops.quote_name(PaymentIntent._meta.db_table)
    # A round of a table that paid after eating is paid by the table's shares (below).
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT o.id, o.total, o.paid_at IS NOT NULL, o.status, COALESCE(c.total, 0)
            FROM {orders} o
            LEFT JOIN {groups} g ON g.id = o.group_id
            LEFT JOIN (SELECT purpose_id, SUM(amount - tip) AS total FROM {intents}
                       WHERE purpose = %s AND status = %s AND counted = %s
                       GROUP BY purpose_id) c ON c.purpose_id = o.id
            WHERE (g.id IS NULL OR g.pay_after = %s)
              AND ((o.paid_at IS NOT NULL AND COALESCE(c.total, 0) <> o.total)
                   OR (o.paid_at IS NULL AND COALESCE(c.total, 0) <> 0 AND o.status <> %s))
            ORDER BY o.id LIMIT %s
            """,  # noqa: S608 (table names from the models, values as parameters)
            [
                Purpose.ORDER,
                IntentStatus.SUCCEEDED,
                True,
                False,
                OrderStatus.PENDING_PAYMENT,
                limit,
            ],
        )
        rows = cursor.fetchall()

    def describe(row) -> str:
        pk, total, paid, status, got = row
        if paid:
            return f"order {pk} paid, but its counted payments sum to {got} of {total}"
        # A split payment's stored-value part may wait for the provider part, but an order
        # that ended unpaid must have given every payment back.
        return f"order {pk} {status} and unpaid, but keeps {got} it did not give back"

    add("paid order", rows, describe)
    _verify_discounts(add, limit)
    _verify_tables(add, limit)


def _verify_discounts(add, limit: int) -> None:
    """For every paid order, gross − discount = net as posted: its discount is posted once,
    as the order has it (the net is its counted payments, checked above); what refunds gave
    back of it stays within it, is none while none of the order's money is refunded and all
    of it once all is (a table's round, paid by the shares, is checked for the first two).
    An order not paid has no discount posted."""
    orders = connection.ops.quote_name(Order._meta.db_table)
    groups = connection.ops.quote_name(TableGroup._meta.db_table)
    intents = connection.ops.quote_name(PaymentIntent._meta.db_table)
    entries = connection.ops.quote_name(LedgerEntry._meta.db_table)
    txs = connection.ops.quote_name(LedgerTransaction._meta.db_table)
    accounts = connection.ops.quote_name(LedgerAccount._meta.db_table)
    with connection.cursor() as cursor:
        # Only the orders with a discount or a memo posting are looked at (few; found by a
        # scan of the orders' one column and the transactions' partial index), so the rule
        # adds little to verify on millions of entries.
        cursor.execute(
            f"""
            WITH cand AS (
                SELECT id FROM {orders} WHERE discount > 0
                UNION
                SELECT purpose_id FROM {txs} WHERE purpose = %s AND purpose_id IS NOT NULL
            ),
            d AS (
                SELECT t.purpose_id,
                       SUM(CASE WHEN t.kind = %s THEN e.amount ELSE 0 END) AS posted,
                       SUM(e.amount) AS held
                FROM {txs} t
                JOIN {entries} e ON e.transaction_id = t.id
                JOIN {accounts} a ON a.id = e.account_id
                WHERE t.purpose = %s AND t.purpose_id IS NOT NULL AND a.kind = %s
                GROUP BY t.purpose_id
            ),
            r AS (
                SELECT purpose_id, SUM(refunded_amount - tip_refunded) AS refunded
                FROM {intents}
                WHERE purpose = %s AND status = %s AND counted = %s
                  AND purpose_id IN (SELECT id FROM cand)
                GROUP BY purpose_id
            )
            SELECT o.id, o.total, o.discount, COALESCE(d.posted, 0), COALESCE(d.held, 0),
                   COALESCE(r.refunded, 0), o.paid_at IS NOT NULL
            FROM cand
            JOIN {orders} o ON o.id = cand.id
            LEFT JOIN {groups} g ON g.id = o.group_id
            LEFT JOIN d ON d.purpose_id = o.id
            LEFT JOIN r ON r.purpose_id = o.id
            WHERE (o.paid_at IS NULL AND (COALESCE(d.posted, 0) <> 0
                                          OR COALESCE(d.held, 0) <> 0))
               OR (o.paid_at IS NOT NULL
                   AND (COALESCE(d.posted, 0) <> o.discount
                        OR COALESCE(d.held, 0) < 0
                        OR COALESCE(d.held, 0) > o.discount
                        OR ((g.id IS NULL OR g.pay_after = %s)
                            AND ((COALESCE(r.refunded, 0) = 0
                                  AND COALESCE(d.held, 0) <> o.discount)
                              OR (COALESCE(r.refunded, 0) >= o.total
                                  AND COALESCE(d.held, 0) <> 0)))))
            ORDER BY o.id LIMIT %s
            """,  # noqa: S608 (table names from the models, values as parameters)
            [
                Purpose.ORDER,
                TxKind.DISCOUNT,
                Purpose.ORDER,
                AccountKind.DISCOUNTS,
                Purpose.ORDER,
                IntentStatus.SUCCEEDED,
                True,
                False,
                limit,
            ],
        )
        rows = cursor.fetchall()

    def describe(row) -> str:
        pk, total, discount, posted, held, refunded, paid = row
        if not paid:
            return f"order {pk} is not paid, but {posted} of discount is posted for it"
        return (
            f"order {pk}: gross {total + discount} − discount {discount} = net {total}, "
            f"but the books post a discount of {posted} and hold {held} of it "
            f"with {refunded} of its money refunded"
        )

    add("order discount", rows, describe)


def _verify_tables(add, limit: int) -> None:
    """Each paid share was paid exactly its amount (its tip apart) by counted payments, no
    other share kept any; and a settled table's paid shares add up to its rounds."""
    shares = connection.ops.quote_name(TableShare._meta.db_table)
    intents = connection.ops.quote_name(PaymentIntent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT s.id, s.status, s.amount, COALESCE(c.total, 0)
            FROM {shares} s
            LEFT JOIN (SELECT purpose_id, SUM(amount - tip) AS total FROM {intents}
                       WHERE purpose = %s AND status = %s AND counted = %s
                       GROUP BY purpose_id) c ON c.purpose_id = s.id
            WHERE (s.status = %s AND COALESCE(c.total, 0) <> s.amount)
               OR (s.status <> %s AND COALESCE(c.total, 0) <> 0)
            ORDER BY s.id LIMIT %s
            """,  # noqa: S608 (table names from the models, values as parameters)
            [
                Purpose.SHARE,
                IntentStatus.SUCCEEDED,
                True,
                TableShareStatus.PAID,
                TableShareStatus.PAID,
                limit,
            ],
        )
        rows = cursor.fetchall()
    add(
        "table share",
        rows,
        lambda r: f"share {r[0]} ({r[1]}) of {r[2]} is paid {r[3]} by counted payments",
    )
    settled = []
    for group in TableGroup.objects.filter(status=TableGroupStatus.SETTLED, pay_after=True):
        paid = sum(
            group.shares.filter(status=TableShareStatus.PAID).values_list("amount", flat=True)
        )
        # The rounds the bill was settled for (one cancelled after is refunded, not unpaid).
        owed = sum(group.rounds.filter(paid_at__isnull=False).values_list("total", flat=True))
        if paid != owed:
            settled.append((group.pk, owed, paid))
        if len(settled) >= limit:
            break
    add("settled table", settled, lambda r: f"table group {r[0]} owed {r[1]} and was paid {r[2]}")
