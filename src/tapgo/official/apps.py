from django.apps import AppConfig


class OfficialConfig(AppConfig):
    name = "tapgo.official"
    verbose_name = "Official accounts"
