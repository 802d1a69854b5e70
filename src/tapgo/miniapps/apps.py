from django.apps import AppConfig


class MiniappsConfig(AppConfig):
    name = "tapgo.miniapps"
    label = "miniapps"
