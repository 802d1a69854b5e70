from django.apps import AppConfig


class MerchantsConfig(AppConfig):
    name = "tapgo.merchants"
    label = "merchants"
