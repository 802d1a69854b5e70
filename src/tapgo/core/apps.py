from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tapgo.core"
    label = "core"
