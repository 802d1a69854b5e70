"""Install the built-in template library and switch the default ones on for existing apps."""

from django.db import migrations


def install(apps, schema_editor):
    from tapgo.messaging.library import BUILTIN

    Template = apps.get_model("messaging", "Template")
    AppTemplate = apps.get_model("messaging", "AppTemplate")
    MiniApp = apps.get_model("miniapps", "MiniApp")
    for spec in BUILTIN:
        template, created = Template.objects.get_or_create(
            key=spec["key"],
            defaults={
                "subject": spec["subject"],
                "fields": spec["fields"],
                "texts": spec["texts"],
                "standing": spec["standing"],
                "default_on": spec["default_on"],
            },
        )
        if created and spec["default_on"]:
            AppTemplate.objects.bulk_create(
                [
                    AppTemplate(merchant_id=app.merchant_id, app_id=app.pk, template=template)
                    for app in MiniApp.objects.all()
                ]
            )


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_initial"),
        ("miniapps", "0002_sharelink_remove_entrycode_one_code_per_table_and_more"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
