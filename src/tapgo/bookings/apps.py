from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "tapgo.bookings"
    label = "bookings"
