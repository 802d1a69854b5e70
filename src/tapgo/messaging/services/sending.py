"""Sending: `notify` is the only way a message is made, whoever calls it (ordering, the
console, a task, the API). It refuses without a valid consent, and using up a one-time
consent happens in the same transaction as writing the message and its outbox rows, by a
conditional UPDATE, so of two senders racing for one consent exactly one sends. The worker
delivers the outbox after commit (messaging/delivery.py).
"""

import logging

from django.db import IntegrityError, transaction

from tapgo.identity.models import Customer
from tapgo.messaging import texts as template_texts
from tapgo.messaging.models import Consent, ConsentSubject, Delivery, Message, PushSubscription
from tapgo.messaging.services.consent import consent_use, stored_subject
from tapgo.messaging.services.errors import MessagingError, NoConsent
from tapgo.messaging.services.templates import template_offered, template_on
from tapgo.messaging.tasks import deliver_message
from tapgo.miniapps.models import MiniApp

log = logging.getLogger(__name__)


def notify(
    *,
    customer: Customer,
    app: MiniApp,
    key: str,
    values: dict,
    link: str,
    subject: ConsentSubject | None = None,
    dedupe: str = "",
) -> Message:
    """Send one message of template `key`, if the customer allowed it; NoConsent if not.

    `link` is a path in the app the message opens; `dedupe` makes a retried call return the
    message it already made instead of sending (and using a consent) again."""
    stored = stored_subject(subject)
    template = template_on(app=app, key=key)
    values = template_texts.check_values(template.fields, values)
    if not link.startswith(f"/m/{app.slug}/") or len(link) > 300:
        raise MessagingError("a notification's link is a path inside its mini app")
    if dedupe:
        sent = Message.objects.filter(customer=customer, template=template, key=dedupe).first()
        if sent is not None:
            return sent
    try:
        with transaction.atomic():
            consent = consent_use(customer=customer, app=app, template=template, subject=subject)
            message = Message.objects.create(
                merchant_id=app.merchant_id,
                customer=customer,
                app=app,
                template=template,
                consent=consent,
                subject=stored,
                key=dedupe,
                values=values,
                link=link,
                language=consent.language,
            )
            _queue_deliveries(message, customer, email=consent.email)
    except IntegrityError:  # the same dedupe key, sent meanwhile: that message stands
        if not dedupe:
            raise
        return Message.objects.get(customer=customer, template=template, key=dedupe)
    except NoConsent:
        # A retry racing the first call with the same key: the first used the one-time
        # consent and made the message, which stands (the retry must not say "no consent").
        if not dedupe:
            raise
        sent = Message.objects.filter(customer=customer, template=template, key=dedupe).first()
        if sent is None:
            raise
        return sent

    transaction.on_commit(lambda: deliver_message.enqueue(message.pk))
    return message


def _queue_deliveries(message: Message, customer: Customer, *, email: bool) -> None:
    rows = [Delivery(message=message, channel=Delivery.Channel.INBOX)]
    rows += [
        Delivery(message=message, channel=Delivery.Channel.PUSH, subscription_id=pk)
        for pk in PushSubscription.objects.filter(customer=customer).values_list("pk", flat=True)
    ]
    if email and customer.email:
        rows.append(Delivery(message=message, channel=Delivery.Channel.EMAIL))
    Delivery.objects.bulk_create(rows)


def notify_quietly(**kwargs) -> Message | None:
    """notify() for a business moment that goes on without a message (an order becoming
    ready): no consent or the template switched off means no message, not an error."""
    try:
        return notify(**kwargs)
    except NoConsent:
        return None
    except (MessagingError, template_texts.TemplateTextError):  # bad values: a bug, logged
        log.exception("notification %s not sent", kwargs.get("key"))
        return None


# --- fan-out to followers (a standing template: new articles) -----------------------------


def followers_notify(
    *,
    app: MiniApp,
    key: str,
    values: dict,
    link: str,
    dedupe: str,
    subject: ConsentSubject | None = None,
    followed_by=None,
    after: int = 0,
    limit: int = 200,
) -> tuple[int, int | None]:
    """Send one batch of a message to the app's followers: customers with an active consent
    for template `key` that is not about one subject (a standing one, or a one-time one for
    "the next"), given by `followed_by` if set, in consent order after the cursor `after`.

    Each goes through notify(), so consent is checked per customer and `dedupe` (required)
    makes a rerun send nobody the message twice. Returns how many followers have the
    message and the cursor of the next batch (None when this was the last)."""
    if not dedupe:
        raise MessagingError("a fan-out needs a dedupe key, so that a rerun sends nothing twice")
    template = template_offered(app=app, key=key)
    if template is None:  # switched off (or withdrawn): nobody gets it
        return 0, None
    template_texts.check_values(template.fields, values)  # once, before anyone is tried
    followers = Consent.objects.filter(
        app=app,
        template=template,
        status=Consent.Status.ACTIVE,
        kind__in=[Consent.Kind.STANDING, Consent.Kind.ONE_TIME],
        subject="",
        pk__gt=after,
    )
    if followed_by is not None:
        followers = followers.filter(created_at__lte=followed_by)
    batch = list(followers.select_related("customer").order_by("pk")[:limit])
    reached = 0
    for consent in batch:
        try:
            notify(
                customer=consent.customer,
                app=app,
                key=key,
                values=values,
                link=link,
                subject=subject,
                dedupe=dedupe,
            )
        except NoConsent:  # turned off meanwhile
            continue
        reached += 1
    return reached, (batch[-1].pk if len(batch) == limit else None)
