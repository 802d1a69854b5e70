from django.apps import AppConfig


class MembershipConfig(AppConfig):
    name = "tapgo.membership"
    label = "membership"
