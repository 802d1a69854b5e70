"""Put the discounts of orders paid before the memo postings into the books, so `tapgo ledger
verify` (gross − discount = net for every paid order) holds on a database made before them:
each paid order with a discount gets its discount posting at the time it was paid and, when
its money was refunded, the discount's share given back (all of it for a whole refund, in
proportion otherwise) in one posting of its own."""

from django.db import migrations


def forwards(apps, schema_editor):
    Order = apps.get_model("ordering", "Order")
    Intent = apps.get_model("payments", "PaymentIntent")
    Account = apps.get_model("payments", "LedgerAccount")
    Tx = apps.get_model("payments", "LedgerTransaction")
    Entry = apps.get_model("payments", "LedgerEntry")

    def account(kind, currency, merchant_id):
        found, _ = Account.objects.get_or_create(
            key=f"{kind}:{merchant_id}:-:-:{currency}",
            defaults={"kind": kind, "currency": currency, "merchant_id": merchant_id},
        )
        return found

    def post(kind, order, key, amount, when):
        if amount <= 0 or Tx.objects.filter(key=key).exists():
            return
        discounts = account("discounts", order.currency, order.merchant_id)
        gross = account("gross_memo", order.currency, order.merchant_id)
        tx = Tx.objects.create(
            kind=kind,
            merchant_id=order.merchant_id,
            currency=order.currency,
            key=key,
            purpose="order",
            purpose_id=order.pk,
            created_at=when,
        )
        sign = 1 if kind == "discount" else -1
        Entry.objects.create(transaction=tx, account=discounts, amount=sign * amount)
        Entry.objects.create(transaction=tx, account=gross, amount=-sign * amount)
        # discounts is debit-normal, gross_memo credit-normal: both move by the same amount.
        for acc in (discounts, gross):
            Account.objects.filter(pk=acc.pk).update(
                balance=Account.objects.get(pk=acc.pk).balance + sign * amount
            )

    paid = Order.objects.filter(paid_at__isnull=False, discount__gt=0).order_by("id")
    for order in paid.iterator():
        post("discount", order, f"discount:order:{order.pk}", order.discount, order.paid_at)
        refunded = sum(
            i.refunded_amount - i.tip_refunded
            for i in Intent.objects.filter(
                purpose="order", purpose_id=order.pk, status="succeeded", counted=True
            )
        )
        if refunded <= 0:
            continue
        back = order.discount
        if refunded < order.total:
            back = order.discount * refunded // order.total
        post("discount_back", order, f"discount_back:order:{order.pk}", back, order.updated_at)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0009_ledger_discount_memo"),
        ("ordering", "0010_order_discount"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
