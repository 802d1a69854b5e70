from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _install_library(sender, **kwargs):
    """Put back built-in templates a flush removed (tapgo.messaging.library)."""
    from tapgo.messaging.library import install
    from tapgo.messaging.models import AppTemplate, Template
    from tapgo.miniapps.models import MiniApp

    install(Template, AppTemplate, MiniApp)


class MessagingConfig(AppConfig):
    name = "tapgo.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self):
        post_migrate.connect(_install_library, sender=self)
