from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "tapgo.payments"
    label = "payments"
