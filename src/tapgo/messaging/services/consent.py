"""Consent: what a customer allowed (one message, messages until revoked, or the one message
a paid order grants), turning it off, what it covers, and which consent a message uses up.

A consent about one thing has a ConsentSubject; one about nothing in particular has none.
"""

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.identity.models import Customer
from tapgo.messaging import texts as template_texts
from tapgo.messaging.models import Consent, ConsentSubject, Message, PushSubscription, Template
from tapgo.messaging.services.errors import MessagingError, NoConsent
from tapgo.messaging.services.templates import template_on
from tapgo.miniapps.models import MiniApp


def stored_subject(subject: ConsentSubject | None) -> str:
    """The subject as Consent.subject and Message.subject hold it ("" for none)."""
    if subject is None:
        return ""
    if not isinstance(subject, ConsentSubject):
        raise TypeError(f"a subject is a ConsentSubject or None, not {subject!r}")
    return str(subject)


# --- giving and ending ---------------------------------------------------------------------


def consent_give(
    *,
    customer: Customer,
    app: MiniApp,
    key: str,
    subject: ConsentSubject | None = None,
    standing: bool = False,
    email: bool = False,
) -> Consent:
    """The customer allows one message (or, for a standing template, messages until revoked).

    Giving the same consent twice returns the first: a double submit is one consent."""
    template = template_on(app=app, key=key)
    if standing and not template.standing:
        raise MessagingError(_("This notification can only be allowed one message at a time."))
    kind = Consent.Kind.STANDING if standing else Consent.Kind.ONE_TIME
    stored = "" if standing else stored_subject(subject)
    email = bool(email and customer.email)
    active = Consent.objects.filter(
        customer=customer,
        app=app,
        template=template,
        subject=stored,
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
                subject=stored,
                kind=kind,
                email=email,
                language=template_texts.current_language(),
            )
    except IntegrityError:  # a racing double submit made it first
        return active.get()


def consent_grant(
    *, merchant_id: int, customer_id: int, app_id: int, subject: ConsentSubject, language: str
) -> None:
    """A business moment grants the customer one message about `subject`, of any template
    about its kind (paying an order grants one about the order). Called in that moment's
    transaction, often a provider's webhook with no customer's request: so the language is
    given (the one the customer used, e.g. to order)."""
    stored = stored_subject(subject)
    if not stored:
        raise TypeError("a grant is about one thing: give its ConsentSubject")
    try:
        with transaction.atomic():
            Consent.objects.create(
                merchant_id=merchant_id,
                customer_id=customer_id,
                app_id=app_id,
                template=None,
                subject=stored,
                kind=Consent.Kind.GRANT,
                language=language,
            )
    except IntegrityError:
        pass  # granted already: paying is recorded once, and a grant is given once


def consents_end(*, subject: ConsentSubject) -> int:
    """What was allowed about one thing (an order that is over) ends with it, so the
    customer's list does not fill with finished orders."""
    stored = stored_subject(subject)
    if not stored:  # "" would end every consent about nothing in particular
        raise TypeError("consents end with the one thing they are about: give its subject")
    return Consent.objects.filter(subject=stored, status=Consent.Status.ACTIVE).update(
        status=Consent.Status.ENDED, revoked_at=timezone.now()
    )


# --- the customer's list -------------------------------------------------------------------


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


# --- which consent allows a message ----------------------------------------------------------


def consent_covers(
    *, customer: Customer | None, app: MiniApp, key: str, subject: ConsentSubject | None
) -> bool:
    """Whether a message of this template about `subject` would be allowed now."""
    if customer is None:
        return False
    template = Template.objects.filter(key=key).first()
    if template is None:
        return False
    return _candidates(customer, app, template, subject).exists()


def _candidates(customer, app, template: Template, subject: ConsentSubject | None):
    """Consents that allow this message, in the order they are used: standing ones (used
    without being used up), then one-time ones for this subject, then any-subject ones, then
    the grant of a paid order."""
    stored = stored_subject(subject)
    mine = Q(customer=customer, app=app, status=Consent.Status.ACTIVE)
    allowed = Q(template=template, kind=Consent.Kind.ONE_TIME, subject__in=[stored, ""])
    if template.standing:  # an operator who withdraws "standing" ends standing consents' use
        allowed |= Q(template=template, kind=Consent.Kind.STANDING)
    if subject is not None and subject.kind == template.subject:  # a grant: of its kind
        allowed |= Q(template=None, kind=Consent.Kind.GRANT, subject=stored)
    return Consent.objects.filter(mine & allowed)


_ORDER_OF_USE = {Consent.Kind.STANDING: 0, Consent.Kind.ONE_TIME: 1, Consent.Kind.GRANT: 2}


def consent_use(
    *, customer: Customer, app: MiniApp, template: Template, subject: ConsentSubject | None
) -> Consent:
    """The consent a message uses, used up (a standing one stays): called in the transaction
    that writes the message, so of two senders racing for one consent exactly one has it;
    NoConsent for the other, and when nothing allows the message."""
    stored = stored_subject(subject)
    candidates = sorted(
        _candidates(customer, app, template, subject),
        key=lambda c: (_ORDER_OF_USE[c.kind], c.subject != stored, c.created_at),
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
