from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "tapgo.console"
    label = "console"
