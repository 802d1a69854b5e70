"""The guest identity: a customer id in a signed cookie, made on the first visit needing it."""

from django.conf import settings
from django.core import signing
from django.utils.functional import SimpleLazyObject

from tapgo.identity import services

COOKIE = "tg_guest"
SALT = "tapgo.guest"
MAX_AGE = 400 * 24 * 3600


def read_cookie(request) -> str | None:
    try:
        return request.get_signed_cookie(COOKIE, salt=SALT, max_age=MAX_AGE)
    except (KeyError, signing.BadSignature):
        return None


class GuestMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        public_id = read_cookie(request)
        request.customer = SimpleLazyObject(lambda: services.customer_from_public_id(public_id))
        request.set_customer = lambda customer: setattr(request, "_new_customer", customer)

        def ensure_customer():
            customer = request.customer if public_id else None
            if customer is None or not getattr(customer, "pk", None):
                customer = services.customer_create_guest()
                request.set_customer(customer)
                request.customer = customer
            return customer

        request.ensure_customer = ensure_customer
        response = self.get_response(request)
        new = getattr(request, "_new_customer", None)
        if new is not None:
            response.set_signed_cookie(
                COOKIE,
                new.public_id,
                salt=SALT,
                max_age=MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response
