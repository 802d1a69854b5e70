from django.conf import settings
from django.urls import reverse


def absolute_url(name: str, *args) -> str:
    """A full URL on the public base (what printed codes and emails carry)."""
    return settings.PUBLIC_URL + reverse(name, args=args)
