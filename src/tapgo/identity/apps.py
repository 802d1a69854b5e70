from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "tapgo.identity"
    label = "identity"
