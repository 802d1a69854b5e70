from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "tapgo.messaging"
    label = "messaging"
    verbose_name = "Messaging"
