"""Put the skeleton's sandbox payments into the new ledger, so `tapgo ledger verify` holds
on a database made before it: each captured intent gets its capture and fee; each refunded
one (status "refunded" before this change) a refund with its fee returned."""

import secrets

from django.conf import settings
from django.db import migrations

ALPHABET = "23456789abcdefghjkmnpqrstvwxyz"


def fee(amount):
    return (amount * settings.PLATFORM_FEE_BPS + 5000) // 10000


def forwards(apps, schema_editor):
    Intent = apps.get_model("payments", "PaymentIntent")
    Account = apps.get_model("payments", "LedgerAccount")
    Tx = apps.get_model("payments", "LedgerTransaction")
    Entry = apps.get_model("payments", "LedgerEntry")
    Refund = apps.get_model("payments", "Refund")
    debit = {"clearing", "receivable", "refunds"}

    def account(kind, currency, merchant_id=None, provider=""):
        key = f"{kind}:{merchant_id or '-'}:-:{provider or '-'}:{currency}"
        found, _ = Account.objects.get_or_create(
            key=key,
            defaults={
                "kind": kind,
                "currency": currency,
                "merchant_id": merchant_id,
                "provider": provider,
            },
        )
        return found

    def post(kind, intent, key, entries, refund=None):
        tx = Tx.objects.create(
            kind=kind,
            merchant_id=intent.merchant_id,
            currency=intent.currency,
            key=key,
            intent=intent,
            order_id=intent.order_id,
            refund=refund,
        )
        for acc, amount in entries:
            if amount:
                Entry.objects.create(transaction=tx, account=acc, amount=amount)
                acc.balance += amount if acc.kind in debit else -amount
                acc.save(update_fields=["balance"])

    for intent in Intent.objects.filter(status__in=["succeeded", "refunded"]).order_by("id"):
        c = intent.currency
        clearing = account("clearing", c, provider=intent.provider)
        held = account("held", c, intent.merchant_id)
        fees = account("fees", c)
        post(
            "capture",
            intent,
            f"capture:{intent.pk}",
            [(clearing, intent.amount), (held, -intent.amount)],
        )
        f = fee(intent.amount)
        post("fee", intent, f"fee:capture:{intent.pk}", [(held, f), (fees, -f)])
        paid = intent.order.paid_at is not None
        if intent.status == "refunded":
            refund = Refund.objects.create(
                merchant_id=intent.merchant_id,
                intent=intent,
                order_id=intent.order_id,
                amount=intent.amount,
                currency=c,
                status="succeeded",
                reason="order ended after payment",
                public_id="".join(secrets.choice(ALPHABET) for _ in range(16)),
            )
            refunds = account("refunds", c, intent.merchant_id)
            post(
                "refund",
                intent,
                f"refund:{refund.pk}",
                [(refunds, intent.amount), (clearing, -intent.amount)],
                refund,
            )
            post("fee", intent, f"fee:refund:{refund.pk}", [(held, -f), (fees, f)], refund)
        Intent.objects.filter(pk=intent.pk).update(
            status="succeeded",
            refunded_amount=intent.amount if intent.status == "refunded" else 0,
            counted=paid,
        )


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_ledger"), ("ordering", "0002_line_refunds")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
