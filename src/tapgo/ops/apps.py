from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "tapgo.ops"
    label = "ops"
