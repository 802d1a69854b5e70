from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "tapgo.catalog"
    label = "catalog"
