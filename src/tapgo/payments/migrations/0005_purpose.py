"""A payment knows what it is for as a value (purpose, purpose_id), not by a foreign key to
ordering's Order: payments sits below ordering (docs/architecture.md). Existing intents keep
what they paid for; refunds and ledger transactions reach it through their intent."""

from django.db import migrations, models
from django.db.models import Q


def forwards(apps, schema_editor):
    PaymentIntent = apps.get_model("payments", "PaymentIntent")
    Order = apps.get_model("ordering", "Order")
    numbers = dict(Order.objects.values_list("pk", "number"))
    for intent in PaymentIntent.objects.all().only("pk", "order_id", "topup_id"):
        if intent.order_id:
            fields = {
                "purpose": "order",
                "purpose_id": intent.order_id,
                "reference": numbers.get(intent.order_id, ""),
            }
        else:
            fields = {"purpose": "topup", "purpose_id": intent.topup_id}
        PaymentIntent.objects.filter(pk=intent.pk).update(**fields)


def backwards(apps, schema_editor):
    PaymentIntent = apps.get_model("payments", "PaymentIntent")
    for intent in PaymentIntent.objects.all().only("pk", "purpose", "purpose_id"):
        field = "order_id" if intent.purpose == "order" else "topup_id"
        PaymentIntent.objects.filter(pk=intent.pk).update(**{field: intent.purpose_id})


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0004_transfer"),
        ("ordering", "0004_order_language"),
    ]

    operations = [
        migrations.AddField(
            model_name="paymentintent",
            name="purpose",
            field=models.CharField(
                choices=[("order", "Order"), ("topup", "Stored value top-up")],
                max_length=10,
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="paymentintent",
            name="purpose_id",
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="paymentintent",
            name="reference",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveConstraint(model_name="paymentintent", name="one_open_intent_per_order"),
        migrations.RemoveConstraint(model_name="paymentintent", name="intent_has_purpose"),
        migrations.RemoveField(model_name="paymentintent", name="order"),
        migrations.RemoveField(model_name="paymentintent", name="topup"),
        migrations.RemoveField(model_name="refund", name="order"),
        migrations.RemoveField(model_name="ledgertransaction", name="order"),
        migrations.AlterField(
            model_name="paymentintent",
            name="purpose",
            field=models.CharField(
                choices=[("order", "Order"), ("topup", "Stored value top-up")], max_length=10
            ),
        ),
        migrations.AlterField(
            model_name="paymentintent",
            name="purpose_id",
            field=models.BigIntegerField(),
        ),
        migrations.AddConstraint(
            model_name="paymentintent",
            constraint=models.UniqueConstraint(
                condition=Q(status__in=["requires_action", "processing"]),
                fields=("purpose", "purpose_id"),
                name="one_open_intent_per_purpose",
            ),
        ),
        migrations.AddConstraint(
            model_name="paymentintent",
            constraint=models.CheckConstraint(
                condition=Q(purpose__in=["order", "topup"]), name="intent_has_purpose"
            ),
        ),
        migrations.AddIndex(
            model_name="paymentintent",
            index=models.Index(fields=["purpose", "purpose_id"], name="intent_purpose"),
        ),
    ]
