from django.apps import AppConfig


class ShellConfig(AppConfig):
    name = "tapgo.shell"
    label = "shell"
