"""Notifications: the template library, merchants' switches, consent, sending, the inbox.

`notify` is the only way a message is made, whoever calls it (ordering, the console, a task,
the API): it refuses without a valid consent, and using up a one-time consent happens in the
same transaction as writing the message and its outbox rows, by a conditional UPDATE, so of
two senders racing for one consent exactly one sends.
"""

import logging
import re

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from tapgo.identity.models import Customer
from tapgo.messaging import texts as template_texts
from tapgo.messaging.models import (
    AppTemplate,
    Consent,
    Delivery,
    Message,
    PushSubscription,
    Template,
)
from tapgo.miniapps.models import MiniApp

log = logging.getLogger(__name__)


KEY_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")  # ASCII only: it is part of URLs
MAX_DEVICES = 10  # push subscriptions a customer keeps; a new one beyond drops the oldest


class MessagingError(ValueError):
    pass


class NoConsent(MessagingError):
    """The customer has not allowed this message."""


def _language() -> str:
    language = (translation.get_language() or "").lower()
    return language if language in template_texts.languages() else ""


# --- the template library (operators) ----------------------------------------------------


def template_save(
    *,
    key: str,
    fields,
    texts,
    subject: str = "",
    standing: bool = False,
    default_on: bool = False,
    active: bool = True,
    template: Template | None = None,
) -> Template:
    """Add a template (template=None) or change one; the key of an existing one stays."""
    clean_fields, clean_texts = template_texts.check_template(fields, texts)
    if subject not in Template.Subject.values:
        raise MessagingError(_("Choose what the template is about."))
    if template is None:
        key = (key or "").strip().lower()
        if not KEY_RE.fullmatch(key):
            raise MessagingError(_("A key is a short word of letters, digits, - and _."))
    elif template.fields != clean_fields and Message.objects.filter(template=template).exists():
        # Messages already sent keep their values: their fields must not change under them.
        raise MessagingError(_("Messages were sent with this template: its fields stay."))
    values = dict(
        subject=subject,
        fields=clean_fields,
        texts=clean_texts,
        standing=standing,
        default_on=default_on,
        active=active,
        updated_at=timezone.now(),
    )
    if template is not None:
        Template.objects.filter(pk=template.pk).update(**values)
        template.refresh_from_db()
        return template
    try:
        with transaction.atomic():
            return Template.objects.create(key=key, **values)
    except IntegrityError:
        raise MessagingError(
            _("There is already a template called “%(key)s”.") % {"key": key}
        ) from None


def templates_active():
    return Template.objects.filter(active=True)


# --- merchants switch templates on -------------------------------------------------------


def app_templates_on(app: MiniApp) -> set[int]:
    """The ids of the templates switched on for an app."""
    return set(AppTemplate.objects.filter(app=app).values_list("template_id", flat=True))


def apps_templates_on(apps) -> dict[int, set[int]]:
    """app_templates_on for many apps in one query: app id -> the ids of its templates on."""
    on: dict[int, set[int]] = {app.pk: set() for app in apps}
    if on:
        rows = AppTemplate.objects.filter(app_id__in=list(on)).values_list("app_id", "template_id")
        for app_id, template_id in rows:
            on[app_id].add(template_id)
    return on


def app_template_switch(*, app: MiniApp, template: Template, on: bool) -> None:
    if on:
        if not template.active:
            raise MessagingError(_("This template is not offered any more."))
        try:
            with transaction.atomic():
                AppTemplate.objects.create(merchant_id=app.merchant_id, app=app, template=template)
        except IntegrityError:
            pass  # on already
    else:
        AppTemplate.objects.filter(app=app, template=template).delete()


def app_templates_defaults(app: MiniApp) -> None:
    """Switch on the templates marked "on for new apps" (called when an app is created)."""
    for template in Template.objects.filter(active=True, default_on=True):
        app_template_switch(app=app, template=template, on=True)


def _template_on(app: MiniApp, key: str) -> Template:
    template = Template.objects.filter(key=key, active=True).first()
    if template is None:
        raise MessagingError(_("There is no such notification."))
    if not AppTemplate.objects.filter(app=app, template=template).exists():
        raise NoConsent(_("This mini app does not send this notification."))
    return template


def template_offered(*, app: MiniApp, key: str) -> Template | None:
    """The template if the app sends it, for the shell to ask at the right moment."""
    try:
        return _template_on(app, key)
    except MessagingError:
        return None


# --- consent -----------------------------------------------------------------------------


def subject_of(kind: str, public_id: str) -> str:
    return f"{kind}:{public_id}"


def consent_give(
    *,
    customer: Customer,
    app: MiniApp,
    key: str,
    subject: str = "",
    standing: bool = False,
    email: bool = False,
) -> Consent:
    """The customer allows one message (or, for a standing template, messages until revoked).

    Giving the same consent twice returns the first: a double submit is one consent."""
    template = _template_on(app, key)
    if standing and not template.standing:
        raise MessagingError(_("This notification can only be allowed one message at a time."))
    kind = Consent.Kind.STANDING if standing else Consent.Kind.ONE_TIME
    if standing:
        subject = ""
    email = bool(email and customer.email)
    active = Consent.objects.filter(
        customer=customer,
        app=app,
        template=template,
        subject=subject,
        status=Consent.Status.ACTIVE,
        kind__in=[Consent.Kind.ONE_TIME, Consent.Kind.STANDING],
    )
    existing = active.first()
    if existing is not None:
        if existing.kind == kind and existing.email != email:
            Consent.objects.filter(pk=existing.pk).update(email=email)
            existing.email = email
        if existing.kind == kind or existing.kind == Consent.Kind.STANDING:
            return existing
        # A one-time consent becomes a standing one: the standing one replaces it.
        Consent.objects.filter(pk=existing.pk, status=Consent.Status.ACTIVE).update(
            status=Consent.Status.REVOKED, revoked_at=timezone.now()
        )
    try:
        with transaction.atomic():
            return Consent.objects.create(
                merchant_id=app.merchant_id,
                customer=customer,
                app=app,
                template=template,
                subject=subject,
                kind=kind,
                email=email,
                language=_language(),
            )
    except IntegrityError:  # a racing double submit made it first
        return active.get()


def consent_grant_for_order(order) -> None:
    """Paying an order grants one notification about it (called in the paying transaction,
    often a provider's webhook: the language is the one the customer ordered in)."""
    try:
        with transaction.atomic():
            Consent.objects.create(
                merchant_id=order.merchant_id,
                customer_id=order.customer_id,
                app_id=order.app_id,
                template=None,
                subject=subject_of("order", order.public_id),
                kind=Consent.Kind.GRANT,
                language=order.language,
            )
    except IntegrityError:
        pass  # granted already: paying is recorded once, and a grant is given once


def consents_end(*, subject: str) -> int:
    """What was allowed about one thing (an order that is over) ends with it, so the
    customer's list does not fill with finished orders."""
    return Consent.objects.filter(subject=subject, status=Consent.Status.ACTIVE).update(
        status=Consent.Status.ENDED, revoked_at=timezone.now()
    )


def consents_of(customer: Customer | None):
    """The customer's consents still in force, newest first, for /me/notifications."""
    if customer is None:
        return Consent.objects.none()
    return (
        Consent.objects.filter(customer=customer, status=Consent.Status.ACTIVE)
        .select_related("app", "template")
        .order_by("-created_at")
    )


def consent_revoke(*, customer: Customer, public_id: str) -> bool:
    """Turn a consent off; False if there was nothing to turn off."""
    return bool(
        Consent.objects.filter(
            customer=customer, public_id=public_id, status=Consent.Status.ACTIVE
        ).update(status=Consent.Status.REVOKED, revoked_at=timezone.now())
    )


def consent_set_email(*, customer: Customer, public_id: str, email: bool) -> bool:
    return bool(
        Consent.objects.filter(
            customer=customer, public_id=public_id, status=Consent.Status.ACTIVE
        ).update(email=bool(email and customer.email))
    )


def email_unsubscribe(*, customer_id: int, app: MiniApp, template: Template) -> int:
    """One-click unsubscribe: no more email of this template from this app (the inbox stays).
    Covers the grant of a paid order too, whose message may be of this template."""
    return (
        Consent.objects.filter(
            Q(template=template) | Q(template=None), customer_id=customer_id, app=app
        )
        .filter(status=Consent.Status.ACTIVE)
        .update(email=False)
    )


def template_name(template: Template, language: str | None = None) -> str:
    """The template's name for customers, in their language."""
    return template_texts.text_for(template.texts, language or _language())["name"]


def consent_covers(*, customer: Customer | None, app: MiniApp, key: str, subject: str) -> bool:
    """Whether a message of this template about `subject` would be allowed now."""
    if customer is None:
        return False
    template = Template.objects.filter(key=key).first()
    if template is None:
        return False
    return _candidates(customer, app, template, subject).exists()


def _candidates(customer, app, template, subject):
    """Consents that allow this message, in the order they are used: standing ones (used
    without being used up), then one-time ones for this subject, then any-subject ones, then
    the grant of a paid order."""
    mine = Q(customer=customer, app=app, status=Consent.Status.ACTIVE)
    allowed = Q(template=template, kind=Consent.Kind.ONE_TIME, subject__in=[subject, ""])
    if template.standing:  # an operator who withdraws "standing" ends standing consents' use
        allowed |= Q(template=template, kind=Consent.Kind.STANDING)
    if subject and template.subject and subject.startswith(template.subject + ":"):
        allowed |= Q(template=None, kind=Consent.Kind.GRANT, subject=subject)
    return Consent.objects.filter(mine & allowed)


_ORDER_OF_USE = {Consent.Kind.STANDING: 0, Consent.Kind.ONE_TIME: 1, Consent.Kind.GRANT: 2}


def _use_consent(customer, app, template, subject) -> Consent:
    candidates = sorted(
        _candidates(customer, app, template, subject),
        key=lambda c: (_ORDER_OF_USE[c.kind], c.subject != subject, c.created_at),
    )
    for consent in candidates:
        if consent.kind == Consent.Kind.STANDING:
            return consent
        used = Consent.objects.filter(pk=consent.pk, status=Consent.Status.ACTIVE).update(
            status=Consent.Status.USED, used_at=timezone.now()
        )
        if used:  # of two racing senders, the database lets one through
            return consent
    raise NoConsent(_("The customer has not allowed this notification."))


# --- sending -----------------------------------------------------------------------------


def notify(
    *,
    customer: Customer,
    app: MiniApp,
    key: str,
    values: dict,
    link: str,
    subject: str = "",
    dedupe: str = "",
) -> Message:
    """Send one message of template `key`, if the customer allowed it; NoConsent if not.

    `link` is a path in the app the message opens; `dedupe` makes a retried call return the
    message it already made instead of sending (and using a consent) again."""
    template = _template_on(app, key)
    values = template_texts.check_values(template.fields, values)
    if not link.startswith(f"/m/{app.slug}/") or len(link) > 300:
        raise MessagingError("a notification's link is a path inside its mini app")
    if dedupe:
        sent = Message.objects.filter(customer=customer, template=template, key=dedupe).first()
        if sent is not None:
            return sent
    try:
        with transaction.atomic():
            consent = _use_consent(customer, app, template, subject)
            message = Message.objects.create(
                merchant_id=app.merchant_id,
                customer=customer,
                app=app,
                template=template,
                consent=consent,
                subject=subject,
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
        sent = (
            dedupe
            and Message.objects.filter(customer=customer, template=template, key=dedupe).first()
        )
        if not sent:
            raise
        return sent
    from tapgo.messaging.tasks import deliver_message

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


# --- the inbox ---------------------------------------------------------------------------


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


OPEN_SALT = "tapgo.messaging.open"


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
    return template_texts.render(message.template, message.values, language or _language())


# --- devices (Web Push subscriptions) -----------------------------------------------------


def push_subscribe(
    *, customer: Customer, endpoint: str, p256dh: str, auth: str, label: str = ""
) -> PushSubscription:
    """Keep a device's subscription; the same endpoint again updates it (and moves it to this
    customer: a phone belongs to whoever uses it now)."""
    from tapgo.messaging.push import check_subscription

    endpoint, p256dh, auth = check_subscription(endpoint, p256dh, auth)
    values = dict(
        customer=customer, p256dh=p256dh, auth=auth, label=label[:80], language=_language()
    )
    try:
        with transaction.atomic():
            subscription, _created = PushSubscription.objects.update_or_create(
                endpoint=endpoint, defaults=values
            )
    except IntegrityError:  # created by a racing request
        PushSubscription.objects.filter(endpoint=endpoint).update(**values)
        subscription = PushSubscription.objects.get(endpoint=endpoint)
    # A customer has a few phones, not hundreds of endpoints for the worker to call.
    keep = PushSubscription.objects.filter(customer=customer).order_by("-created_at", "-pk")
    stale = list(keep.values_list("pk", flat=True)[MAX_DEVICES:])
    if stale:
        PushSubscription.objects.filter(pk__in=stale).delete()
    return subscription


def push_unsubscribe(*, customer: Customer, endpoint: str = "", public_id: str = "") -> bool:
    mine = PushSubscription.objects.filter(customer=customer)
    if endpoint:
        mine = mine.filter(endpoint=endpoint)
    elif public_id:
        mine = mine.filter(public_id=public_id)
    else:
        return False
    return bool(mine.delete()[0])


def devices_of(customer: Customer | None):
    if customer is None:
        return PushSubscription.objects.none()
    return PushSubscription.objects.filter(customer=customer).order_by("-created_at")


def customers_move(*, source: Customer, target: Customer) -> None:
    """Signing in: a guest's consents, messages and devices become the account's."""
    for consent in Consent.objects.filter(customer=source, status=Consent.Status.ACTIVE):
        try:
            with transaction.atomic():
                Consent.objects.filter(pk=consent.pk).update(customer=target)
        except IntegrityError:  # the account has the same consent already
            Consent.objects.filter(pk=consent.pk).update(
                status=Consent.Status.REVOKED, revoked_at=timezone.now()
            )
    Consent.objects.filter(customer=source).exclude(status=Consent.Status.ACTIVE).update(
        customer=target
    )
    for message in Message.objects.filter(customer=source).exclude(key=""):
        try:
            with transaction.atomic():
                Message.objects.filter(pk=message.pk).update(customer=target)
        except IntegrityError:
            pass  # the account got the same message: the guest's copy stays with the guest
    Message.objects.filter(customer=source, key="").update(customer=target)
    PushSubscription.objects.filter(customer=source).update(customer=target)


# --- what merchants see ------------------------------------------------------------------


def template_stats(merchant) -> list[dict]:
    """Per template: messages sent, delivered (to the inbox; by push; by email) and opened
    (the customer followed its link; "mark all read" is not opening). Counts only: no
    customer, endpoint or address."""
    sent = Q(deliveries__status=Delivery.Status.SENT)
    rows = (
        Message.objects.for_merchant(merchant)
        .values("template_id", "template__key")
        .annotate(
            sent=Count("pk", distinct=True),
            delivered=Count("pk", filter=Q(delivered_at__isnull=False), distinct=True),
            pushed=Count("pk", filter=sent & Q(deliveries__channel="push"), distinct=True),
            emailed=Count("pk", filter=sent & Q(deliveries__channel="email"), distinct=True),
            opened=Count("pk", filter=Q(opened_at__isnull=False), distinct=True),
        )
        .order_by("template__key")
    )
    return list(rows)


# --- operators (the ops console) ----------------------------------------------------------


def template_by_key(key) -> Template | None:
    """A template by its key, active or not (None for no such key)."""
    if not isinstance(key, str) or not key or len(key) > 40:
        return None
    return Template.objects.filter(key=key).first()


def templates_with_usage() -> list[Template]:
    """Every template, active or not, each with `apps_using`: the mini apps that have it on."""
    usage = dict(
        AppTemplate.objects.order_by()
        .values("template_id")
        .annotate(n=Count("pk"))
        .values_list("template_id", "n")
    )
    templates = list(Template.objects.order_by("key"))
    for template in templates:
        template.apps_using = usage.get(template.pk, 0)
    return templates


def message_log(public_id) -> Message | None:
    """A message and its deliveries (in the order they were queued), for the operator."""
    from django.db.models import Prefetch

    from tapgo.core.ids import is_public_id

    if not isinstance(public_id, str) or not is_public_id(public_id):
        return None
    return (
        Message.objects.filter(public_id=public_id)
        .select_related("template", "app")
        .prefetch_related(Prefetch("deliveries", queryset=Delivery.objects.order_by("pk")))
        .first()
    )


# --- fan-out to followers (a standing template: new articles) -----------------------------


def followers_notify(
    *,
    app: MiniApp,
    key: str,
    values: dict,
    link: str,
    dedupe: str,
    subject: str = "",
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
