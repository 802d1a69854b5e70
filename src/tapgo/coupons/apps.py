from django.apps import AppConfig


class CouponsConfig(AppConfig):
    name = "tapgo.coupons"
    label = "coupons"
