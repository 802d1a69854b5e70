from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "tapgo.analytics"
    label = "analytics"
