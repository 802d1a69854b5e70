from django.apps import AppConfig


class OrderingConfig(AppConfig):
    name = "tapgo.ordering"
    label = "ordering"
