"""The one place that knows the customer-facing URLs a domain or a flow puts in a message,
a payment or an email. The shell's urls.py defines them; everything else asks here, by name,
with plain values (a slug, a public id), so no domain builds a path by hand or imports an
interface. Paths are site-relative; `absolute()` makes a full URL for an email or a code.
"""

from django.conf import settings
from django.urls import reverse


def absolute(path: str) -> str:
    return settings.PUBLIC_URL + path


def app(slug: str) -> str:
    return reverse("shell:app", args=[slug])


def scan(code: str) -> str:
    return reverse("shell:scan", args=[code])


def order(slug: str, order_public_id: str) -> str:
    return reverse("shell:order", args=[slug, order_public_id])


def coupons(slug: str) -> str:
    """The customer's coupons in this app."""
    return reverse("shell:coupons", args=[slug])


def campaign(slug: str, batch_public_id: str) -> str:
    """A coupon batch's claim page (its claim link; a campaign code adds ?scene=scan)."""
    return reverse("shell:campaign", args=[slug, batch_public_id])


def table(slug: str) -> str:
    """The bill of the table the customer sits at in this app."""
    return reverse("shell:table", args=[slug])


def article(slug: str, article_public_id: str) -> str:
    return reverse("shell:article", args=[slug, article_public_id])


def my_cards() -> str:
    return reverse("shell:my_cards")


def message_open(message_public_id: str) -> str:
    return reverse("shell:message_open", args=[message_public_id])


def unsubscribe(token: str) -> str:
    return reverse("shell:unsubscribe", args=[token])


def pay_page(provider: str, intent_public_id: str) -> str:
    """Where a customer pays an intent on the site itself (the sandbox's hosted page, the
    card page for Stripe, the page that sends them on to WeChat Pay)."""
    return reverse(f"payments:{provider}_page", args=[intent_public_id])


def provider_webhook(provider: str) -> str:
    return reverse("payments:webhook", args=[provider])


def card(slug: str) -> str:
    """The customer's membership card with the app's merchant."""
    return reverse("shell:card", args=[slug])
