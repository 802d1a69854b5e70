"""Install the built-in template library and switch the default ones on for existing apps."""

from django.db import migrations


def install(apps, schema_editor):
    from tapgo.messaging.library import install

    install(
        apps.get_model("messaging", "Template"),
        apps.get_model("messaging", "AppTemplate"),
        apps.get_model("miniapps", "MiniApp"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_initial"),
        ("miniapps", "0002_sharelink_remove_entrycode_one_code_per_table_and_more"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
