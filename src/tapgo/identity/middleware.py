"""The guest identity: a customer id in a signed cookie, made on the first visit needing it.

Views ask with current_customer(request) (None for a first-time visitor) or
ensure_customer(request) (creates a guest); sign-in switches with switch_customer().
"""

from django.conf import settings
from django.core import signing

from tapgo.identity import services
from tapgo.identity.models import Customer

COOKIE = "tg_guest"
SALT = "tapgo.guest"
MAX_AGE = 400 * 24 * 3600


def _read_cookie(request) -> str | None:
    try:
        return request.get_signed_cookie(COOKIE, salt=SALT, max_age=MAX_AGE)
    except (KeyError, signing.BadSignature):
        return None


def current_customer(request) -> Customer | None:
    if not hasattr(request, "_tapgo_customer"):
        request._tapgo_customer = services.customer_from_public_id(_read_cookie(request))
    return request._tapgo_customer


def ensure_customer(request) -> Customer:
    customer = current_customer(request)
    if customer is None:
        customer = services.customer_create_guest()
        switch_customer(request, customer)
    return customer


def switch_customer(request, customer: Customer | None) -> None:
    """Make this customer the browser's identity from this response on (None: forget it)."""
    request._tapgo_customer = customer
    request._tapgo_cookie = customer.public_id if customer else ""


class GuestMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        value = getattr(request, "_tapgo_cookie", None)
        if value == "":
            response.delete_cookie(COOKIE, samesite="Lax")
        elif value:
            response.set_signed_cookie(
                COOKIE,
                value,
                salt=SALT,
                max_age=MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response
