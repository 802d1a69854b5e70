"""The books' invariants that cross domains, with the ledger's own (payments/ledger.py):
what `tapgo ledger verify` and the tests check after every test that moves money."""

from django.db import connection

from tapgo.ordering.models import Order, OrderStatus
from tapgo.payments import ledger
from tapgo.payments.models import IntentStatus, PaymentIntent, Purpose


def verify_books(*, limit: int = 50) -> list[ledger.Breach]:
    """Every breach of the books (empty when sound): the ledger's rules, and that each order
    was paid what it cost (no more, no less) or, unpaid, kept nothing."""
    breaches = ledger.verify(limit=limit)
    _verify_orders(ledger.collector(breaches, limit), limit)
    return breaches


def _verify_orders(add, limit: int) -> None:
    orders = connection.ops.quote_name(Order._meta.db_table)
    intents = connection.ops.quote_name(PaymentIntent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT o.id, o.total, o.paid_at IS NOT NULL, o.status, COALESCE(c.total, 0)
            FROM {orders} o
            LEFT JOIN (SELECT purpose_id, SUM(amount) AS total FROM {intents}
                       WHERE purpose = %s AND status = %s AND counted = %s
                       GROUP BY purpose_id) c ON c.purpose_id = o.id
            WHERE (o.paid_at IS NOT NULL AND COALESCE(c.total, 0) <> o.total)
               OR (o.paid_at IS NULL AND COALESCE(c.total, 0) <> 0 AND o.status <> %s)
            ORDER BY o.id LIMIT %s
            """,  # noqa: S608 (table names from the models, values as parameters)
            [Purpose.ORDER, IntentStatus.SUCCEEDED, True, OrderStatus.PENDING_PAYMENT, limit],
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
