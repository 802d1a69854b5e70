"""The inbox: a customer's delivered messages, unread and read, following a message's link
(signed for channels that carry no cookie), a message's text, one message's log for the
operator, and what a merchant sent about one thing (an order's page shows it)."""

from django.core import signing
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from tapgo.core.ids import is_public_id
from tapgo.identity.models import Customer
from tapgo.messaging import texts as template_texts
from tapgo.messaging.models import ConsentSubject, Delivery, Message

OPEN_SALT = "tapgo.messaging.open"


def inbox_of(customer: Customer | None):
    if customer is None:
        return Message.objects.none()
    return (
        Message.objects.filter(customer=customer, delivered_at__isnull=False)
        .select_related("app", "template")
        .order_by("-delivered_at", "-pk")
    )


def unread_count(customer_id: int | None) -> int:
    if customer_id is None:
        return 0
    return Message.objects.filter(
        customer_id=customer_id, delivered_at__isnull=False, read_at__isnull=True
    ).count()


def message_read(*, customer: Customer, public_id: str) -> bool:
    return bool(
        Message.objects.filter(customer=customer, public_id=public_id, read_at__isnull=True).update(
            read_at=timezone.now()
        )
    )


def inbox_read_all(*, customer: Customer) -> int:
    return Message.objects.filter(
        customer=customer, delivered_at__isnull=False, read_at__isnull=True
    ).update(read_at=timezone.now())


def open_token(message: Message) -> str:
    """Signs a message's link for channels that carry no cookie (email, a push opened in
    another browser): following it counts as the customer opening the message."""
    return signing.Signer(salt=OPEN_SALT).signature(message.public_id)


def message_open(*, public_id: str, customer: Customer | None, token: str = "") -> Message | None:
    """A message's link was followed (from the inbox, a push or an email). It counts as
    opened and read only for its customer (their cookie, or the link's signature): anyone
    else who has the link is sent to the page, which checks its own access, and marks
    nothing."""
    message = Message.objects.filter(public_id=public_id).select_related("app").first()
    if message is None:
        return None
    owner = customer is not None and customer.pk == message.customer_id
    if not owner and not (isinstance(token, str) and token):
        return message
    if not owner and not constant_time_compare(token, open_token(message)):
        return message
    now = timezone.now()
    Message.objects.filter(pk=message.pk, opened_at__isnull=True).update(opened_at=now)
    Message.objects.filter(pk=message.pk, read_at__isnull=True).update(read_at=now)
    return message


def message_text(message: Message, language: str | None = None) -> tuple[str, str]:
    """The message's title and body in `language` (the current one by default)."""
    language = language or template_texts.current_language()
    return template_texts.render(message.template, message.values, language)


def message_log(public_id) -> Message | None:
    """A message and its deliveries (in the order they were queued), for the operator."""
    if not isinstance(public_id, str) or not is_public_id(public_id):
        return None
    return (
        Message.objects.filter(public_id=public_id)
        .select_related("template", "app")
        .prefetch_related(Prefetch("deliveries", queryset=Delivery.objects.order_by("pk")))
        .first()
    )


def messages_about(*, merchant, subject: ConsentSubject) -> list[Message]:
    """The merchant's messages about one thing (an order), oldest first, each with its
    template and its deliveries (in the order they were queued)."""
    return list(
        Message.objects.for_merchant(merchant)
        .filter(subject=str(subject))
        .select_related("template")
        .prefetch_related(Prefetch("deliveries", queryset=Delivery.objects.order_by("pk")))
        .order_by("pk")
    )
