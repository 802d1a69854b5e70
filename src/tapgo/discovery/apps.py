from django.apps import AppConfig


class DiscoveryConfig(AppConfig):
    name = "tapgo.discovery"
    verbose_name = "Discovery"
