from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ordering", "0003_order_scene_order_share"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="language",
            field=models.CharField(blank=True, max_length=10),
        ),
    ]
