from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _install_library(sender, **kwargs):
    """Put back built-in templates a flush removed (tapgo.messaging.library)."""
    # AppConfig modules load before the apps' models: these are imported when it runs.
    from tapgo.messaging.library import install  # (see above)
    from tapgo.messaging.models import AppTemplate, Template  # (see above)
    from tapgo.miniapps.models import MiniApp  # (see above)

    install(Template, AppTemplate, MiniApp)


class MessagingConfig(AppConfig):
    name = "tapgo.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self):
        post_migrate.connect(_install_library, sender=self)
