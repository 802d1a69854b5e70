"""Consent decides every message: one-time, standing, revoked, the grant of a paid order,
switched-off templates, sign-in merges, other customers and apps, and the races for one
consent (decided by the database on SQLite and PostgreSQL alike)."""

import threading

import pytest
from django.db import transaction

from tapgo.core.actors import SYSTEM
from tapgo.flows import orders as order_flows
from tapgo.flows.customers import customer_merge
from tapgo.identity.models import Customer
from tapgo.identity.services import customer_create_guest
from tapgo.messaging import services as messaging
from tapgo.messaging.keys import TemplateKey
from tapgo.messaging.library import BUILTIN
from tapgo.messaging.models import (
    AppTemplate,
    Consent,
    ConsentSubject,
    Delivery,
    Message,
    Template,
)
from tapgo.messaging.services import MessagingError, NoConsent, sending
from tapgo.miniapps.models import MiniApp

READY = {"order": "A001", "app": "Test Café"}


def _points(change: int) -> dict:
    return {"app": "Test Café", "change": change, "balance": 100 + change}


def _ready(customer, app, *, subject=None, dedupe="", **kwargs) -> Message:
    return messaging.notify(
        customer=customer,
        app=app,
        key=TemplateKey.ORDER_READY,
        values=READY,
        link=f"/m/{app.slug}/orders/x/",
        subject=subject,
        dedupe=dedupe,
        **kwargs,
    )


def _points_changed(customer, app, change: int = 5, dedupe: str = "") -> Message:
    return messaging.notify(
        customer=customer,
        app=app,
        key=TemplateKey.POINTS_CHANGED,
        values=_points(change),
        link=f"/m/{app.slug}/card/",
        dedupe=dedupe,
    )


@pytest.fixture
def library(app):
    """The built-in templates with the default ones on for `app`. A migration installs them,
    but a transactional test's flush empties every table, so a race test may find none."""
    for spec in BUILTIN:
        Template.objects.get_or_create(
            key=spec["key"],
            defaults={k: spec[k] for k in ("subject", "fields", "texts", "standing", "default_on")},
        )
    messaging.app_templates_defaults(app)
    return app


@pytest.fixture
def points_on(library):
    """points_changed (a standing template, off for new apps) switched on."""
    template = Template.objects.get(key=TemplateKey.POINTS_CHANGED)
    messaging.app_template_switch(app=library, template=template, on=True)
    return template


@pytest.fixture
def paid(order, library):
    assert order_flows.order_mark_paid(order=order, amount=order.total, currency=order.currency)
    return order_flows.order_accept(actor=SYSTEM, order=order)


def _order_subject(order) -> ConsentSubject:
    return ConsentSubject(Template.Subject.ORDER, order.public_id)


# --- what a consent is about ----------------------------------------------------------------


def test_a_subject_is_stored_as_kind_colon_public_id_and_read_back():
    subject = ConsentSubject(Template.Subject.ORDER, "7h3kq9w2mxzp")
    assert str(subject) == "order:7h3kq9w2mxzp"
    assert ConsentSubject.parse("order:7h3kq9w2mxzp") == subject
    assert ConsentSubject.parse(str(subject)).kind is Template.Subject.ORDER
    assert ConsentSubject("article", "x") == ConsentSubject(Template.Subject.ARTICLE, "x")
    for text in ["", "order", "order:", ":x", "fish:x", "x", None, 7, "order:" + "x" * 40]:
        assert ConsentSubject.parse(text) is None, text


@pytest.mark.parametrize(
    "kind, public_id",
    [("", "x"), ("fish", "x"), ("order", ""), ("order", None), ("order", "x" * 40)],
)
def test_a_subject_is_about_one_thing_of_a_known_kind(kind, public_id):
    with pytest.raises(ValueError):
        ConsentSubject(kind, public_id)


@pytest.mark.django_db
def test_the_services_take_a_subject_not_its_text(customer, library):
    with pytest.raises(TypeError):
        messaging.consent_give(
            customer=customer, app=library, key=TemplateKey.ORDER_READY, subject="order:x"
        )
    with pytest.raises(TypeError):
        messaging.consents_end(subject=None)
    assert not Consent.objects.exists()


# --- one-time, revoked, standing ---------------------------------------------------------


@pytest.mark.django_db
def test_a_one_time_consent_allows_exactly_one_message(customer, library):
    consent = messaging.consent_give(customer=customer, app=library, key=TemplateKey.ORDER_READY)
    first = _ready(customer, library, dedupe="one")
    with pytest.raises(NoConsent):
        _ready(customer, library, dedupe="two")
    with pytest.raises(NoConsent):
        _ready(customer, library)  # no key at all changes nothing
    assert list(Message.objects.filter(customer=customer)) == [first]
    consent.refresh_from_db()
    assert (consent.status, first.consent_id) == (Consent.Status.USED, consent.pk)
    assert consent.used_at is not None
    # Its deliveries were queued with it, and only its.
    assert Delivery.objects.filter(message=first, channel="inbox").count() == 1
    assert Delivery.objects.count() == 1
    # A retry of the first call (same key) returns the message: it is not a new one.
    assert _ready(customer, library, dedupe="one") == first
    assert not messaging.consent_covers(
        customer=customer, app=library, key=TemplateKey.ORDER_READY, subject=None
    )


@pytest.mark.django_db
def test_a_revoked_consent_sends_nothing(customer, library):
    consent = messaging.consent_give(customer=customer, app=library, key=TemplateKey.ORDER_READY)
    assert messaging.consent_covers(
        customer=customer, app=library, key=TemplateKey.ORDER_READY, subject=None
    )
    assert messaging.consent_revoke(customer=customer, public_id=consent.public_id)
    assert not messaging.consent_revoke(customer=customer, public_id=consent.public_id)
    with pytest.raises(NoConsent):
        _ready(customer, library, dedupe="a")
    assert not Message.objects.exists() and not Delivery.objects.exists()
    consent.refresh_from_db()
    assert consent.status == Consent.Status.REVOKED and consent.revoked_at is not None
    assert list(messaging.consents_of(customer)) == []


@pytest.mark.django_db
def test_a_standing_consent_sends_until_revoked(customer, library, points_on):
    consent = messaging.consent_give(
        customer=customer, app=library, key=TemplateKey.POINTS_CHANGED, standing=True
    )
    assert consent.kind == Consent.Kind.STANDING
    sent = [_points_changed(customer, library, change=n, dedupe=f"p{n}") for n in (1, 2, 3)]
    assert len({m.pk for m in sent}) == 3
    assert all(m.consent_id == consent.pk for m in sent)
    consent.refresh_from_db()
    assert consent.status == Consent.Status.ACTIVE and consent.used_at is None
    assert messaging.consent_revoke(customer=customer, public_id=consent.public_id)
    with pytest.raises(NoConsent):
        _points_changed(customer, library, change=4, dedupe="p4")
    assert Message.objects.filter(customer=customer).count() == 3


@pytest.mark.django_db
def test_standing_consent_only_for_templates_marked_standing(customer, library):
    assert not Template.objects.get(key=TemplateKey.ORDER_READY).standing
    with pytest.raises(MessagingError, match="one message at a time"):
        messaging.consent_give(
            customer=customer, app=library, key=TemplateKey.ORDER_READY, standing=True
        )
    assert not Consent.objects.exists()


@pytest.mark.django_db
def test_one_time_becomes_standing_and_a_standing_one_is_not_downgraded(
    customer, library, points_on
):
    once = messaging.consent_give(customer=customer, app=library, key=TemplateKey.POINTS_CHANGED)
    standing = messaging.consent_give(
        customer=customer, app=library, key=TemplateKey.POINTS_CHANGED, standing=True
    )
    assert standing.pk != once.pk and standing.kind == Consent.Kind.STANDING
    once.refresh_from_db()
    assert once.status == Consent.Status.REVOKED
    # Asking for one message while a standing consent is in force keeps the standing one.
    again = messaging.consent_give(customer=customer, app=library, key=TemplateKey.POINTS_CHANGED)
    assert again.pk == standing.pk
    assert Consent.objects.filter(status=Consent.Status.ACTIVE).count() == 1


@pytest.mark.django_db
def test_a_template_not_switched_on_for_the_app_is_refused(customer, library):
    points = Template.objects.get(key=TemplateKey.POINTS_CHANGED)
    assert points.pk not in messaging.app_templates_on(library)
    with pytest.raises(NoConsent, match="does not send"):
        messaging.consent_give(customer=customer, app=library, key=TemplateKey.POINTS_CHANGED)
    with pytest.raises(NoConsent):
        _points_changed(customer, library)
    assert messaging.template_offered(app=library, key=TemplateKey.POINTS_CHANGED) is None

    # A consent given while it was on does not outlive the merchant switching it off.
    messaging.app_template_switch(app=library, template=points, on=True)
    messaging.consent_give(
        customer=customer, app=library, key=TemplateKey.POINTS_CHANGED, standing=True
    )
    messaging.app_template_switch(app=library, template=points, on=False)
    with pytest.raises(NoConsent):
        _points_changed(customer, library)
    # An inactive (withdrawn) template sends nothing either, even switched on.
    messaging.app_template_switch(app=library, template=points, on=True)
    Template.objects.filter(pk=points.pk).update(active=False)
    with pytest.raises(MessagingError):
        _points_changed(customer, library)
    with pytest.raises(MessagingError):
        messaging.consent_give(customer=customer, app=library, key="no_such_template")
    assert not Message.objects.exists()


# --- the grant of a paid order -------------------------------------------------------------


@pytest.mark.django_db
def test_paying_grants_one_order_message_and_a_cancel_after_ready_has_none_left(
    paid, customer, django_capture_on_commit_callbacks
):
    # Paying again (a replayed webhook) grants nothing more.
    order_flows.order_mark_paid(order=paid, amount=paid.total, currency=paid.currency)
    grant = Consent.objects.get(customer=customer)
    assert (grant.kind, grant.subject, grant.template_id) == (
        Consent.Kind.GRANT,
        f"order:{paid.public_id}",  # stored as "kind:public id"
        None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        order_flows.order_mark_ready(actor=SYSTEM, order=paid)
        order_flows.order_cancel(actor=SYSTEM, order=paid, reason="Out of milk")
    message = Message.objects.get(customer=customer)
    assert (message.template.key, message.consent_id) == ("order_ready", grant.pk)
    grant.refresh_from_db()
    assert grant.status == Consent.Status.USED
    # The grant is about this order only: another subject of the same template is refused.
    with pytest.raises(NoConsent):
        _ready(customer, paid.app, subject=ConsentSubject(Template.Subject.ORDER, "someotherorder"))


@pytest.mark.django_db
def test_an_explicit_consent_for_the_cancel_sends_it_after_the_grant_is_used(
    paid, customer, django_capture_on_commit_callbacks
):
    subject = _order_subject(paid)
    cancel = messaging.consent_give(
        customer=customer, app=paid.app, key=TemplateKey.ORDER_CANCELLED, subject=subject
    )
    with django_capture_on_commit_callbacks(execute=True):
        order_flows.order_mark_ready(actor=SYSTEM, order=paid)
        order_flows.order_cancel(actor=SYSTEM, order=paid, reason="Out of milk")
    messages = {m.template.key: m for m in Message.objects.filter(customer=customer)}
    assert set(messages) == {"order_ready", "order_cancelled"}
    grant = Consent.objects.get(kind=Consent.Kind.GRANT)
    assert messages["order_ready"].consent_id == grant.pk
    assert messages["order_cancelled"].consent_id == cancel.pk
    assert messages["order_cancelled"].delivered_at is not None
    assert messages["order_cancelled"].values["refund"] == {
        "amount": paid.total,
        "currency": paid.currency,
    }


@pytest.mark.django_db
def test_an_explicit_one_time_consent_is_used_before_the_grant(
    paid, customer, django_capture_on_commit_callbacks
):
    """The customer asked "tell me when it is ready" for this order: ready uses that consent,
    and the grant of paying stays for the cancel."""
    subject = _order_subject(paid)
    # An older any-subject one-time consent too: the one about this order comes first.
    anything = messaging.consent_give(customer=customer, app=paid.app, key=TemplateKey.ORDER_READY)
    explicit = messaging.consent_give(
        customer=customer, app=paid.app, key=TemplateKey.ORDER_READY, subject=subject
    )
    with django_capture_on_commit_callbacks(execute=True):
        order_flows.order_mark_ready(actor=SYSTEM, order=paid)
    ready = Message.objects.get(customer=customer)
    assert ready.consent_id == explicit.pk
    grant = Consent.objects.get(kind=Consent.Kind.GRANT)
    assert grant.status == Consent.Status.ACTIVE
    anything.refresh_from_db()
    assert anything.status == Consent.Status.ACTIVE

    with django_capture_on_commit_callbacks(execute=True):
        order_flows.order_cancel(actor=SYSTEM, order=paid, reason="Out of milk")
    cancelled = Message.objects.get(customer=customer, template__key="order_cancelled")
    assert cancelled.consent_id == grant.pk
    grant.refresh_from_db()
    assert grant.status == Consent.Status.USED


# --- consents end with what they are about ---------------------------------------------------


@pytest.mark.django_db
def test_consents_about_an_order_end_when_it_completes(
    paid, customer, library, django_capture_on_commit_callbacks
):
    subject = _order_subject(paid)
    cancel = messaging.consent_give(
        customer=customer, app=paid.app, key=TemplateKey.ORDER_CANCELLED, subject=subject
    )
    anything = messaging.consent_give(
        customer=customer, app=paid.app, key=TemplateKey.NEW_ARTICLE, standing=True
    )
    other_order = messaging.consent_give(
        customer=customer,
        app=paid.app,
        key=TemplateKey.ORDER_READY,
        subject=ConsentSubject(Template.Subject.ORDER, "anotherorder1"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        order_flows.order_mark_ready(actor=SYSTEM, order=paid)
    grant = Consent.objects.get(kind=Consent.Kind.GRANT)
    assert Message.objects.get().consent_id == grant.pk  # ready used the grant
    assert messaging.consent_covers(
        customer=customer, app=paid.app, key=TemplateKey.ORDER_CANCELLED, subject=subject
    )

    order_flows.order_complete(actor=SYSTEM, order=paid)

    cancel.refresh_from_db()
    assert (cancel.status, cancel.used_at) == (Consent.Status.ENDED, None)
    assert cancel.revoked_at is not None
    grant.refresh_from_db()
    assert grant.status == Consent.Status.USED  # used stays used
    assert not messaging.consent_covers(
        customer=customer, app=paid.app, key=TemplateKey.ORDER_CANCELLED, subject=subject
    )
    # What is about something else, or about nothing in particular, goes on.
    shown = set(messaging.consents_of(customer).values_list("pk", flat=True))
    assert shown == {anything.pk, other_order.pk}


@pytest.mark.django_db
@pytest.mark.parametrize("end", ["cancel", "reject"])
def test_a_cancel_message_goes_out_before_the_order_s_consents_end(
    order, customer, library, end, django_capture_on_commit_callbacks
):
    """Cancelling (or rejecting) a paid order sends its message (on the grant of paying) in
    the same transaction that then ends what is left about the order: the unused "tell me
    when it's ready"."""
    assert order_flows.order_mark_paid(order=order, amount=order.total, currency=order.currency)
    paid = order_flows.order_accept(actor=SYSTEM, order=order) if end == "cancel" else order
    subject = _order_subject(paid)
    waiting = messaging.consent_give(
        customer=customer, app=paid.app, key=TemplateKey.ORDER_READY, subject=subject
    )
    with django_capture_on_commit_callbacks(execute=True):
        if end == "cancel":
            order_flows.order_cancel(actor=SYSTEM, order=paid, reason="Out of milk")
        else:
            order_flows.order_reject(actor=SYSTEM, order=paid, reason="Out of milk")
    message = Message.objects.get(customer=customer)
    grant = Consent.objects.get(kind=Consent.Kind.GRANT)
    assert (message.template.key, message.consent_id) == ("order_cancelled", grant.pk)
    assert message.delivered_at is not None  # it reached the inbox after commit
    assert message.values["reason"] == "Out of milk"
    grant.refresh_from_db()
    waiting.refresh_from_db()
    assert grant.status == Consent.Status.USED
    assert waiting.status == Consent.Status.ENDED
    assert list(messaging.consents_of(customer)) == []


@pytest.mark.django_db
def test_consents_about_an_unpaid_order_end_when_it_expires(order, customer, library):
    subject = _order_subject(order)
    waiting = messaging.consent_give(
        customer=customer, app=order.app, key=TemplateKey.ORDER_READY, subject=subject
    )
    from django.utils import timezone

    from tapgo.ordering.models import Order

    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now())
    order.refresh_from_db()
    assert order_flows.order_expire(order=order)
    waiting.refresh_from_db()
    assert waiting.status == Consent.Status.ENDED
    assert list(messaging.consents_of(customer)) == []
    with pytest.raises(NoConsent):
        _ready(customer, order.app, subject=subject)


@pytest.mark.django_db
def test_an_ended_consent_cannot_be_turned_off_or_emailed(paid, customer, library):
    subject = _order_subject(paid)
    waiting = messaging.consent_give(
        customer=customer, app=paid.app, key=TemplateKey.ORDER_READY, subject=subject
    )
    order_flows.order_cancel(actor=SYSTEM, order=paid, reason="Closed early")
    assert not messaging.consent_revoke(customer=customer, public_id=waiting.public_id)
    assert not messaging.consent_set_email(
        customer=customer, public_id=waiting.public_id, email=True
    )
    waiting.refresh_from_db()
    assert waiting.status == Consent.Status.ENDED


# --- the operator withdraws "standing" ---------------------------------------------------------


def _save_standing(template: Template, standing: bool) -> Template:
    """The ops console saving the template with only its standing switch changed."""
    return messaging.template_save(
        key=template.key,
        fields=template.fields,
        texts=template.texts,
        subject=template.subject,
        standing=standing,
        default_on=template.default_on,
        active=template.active,
        template=template,
    )


@pytest.mark.django_db
def test_a_standing_consent_stops_when_the_template_stops_being_standing(
    customer, library, points_on
):
    consent = messaging.consent_give(
        customer=customer, app=library, key=TemplateKey.POINTS_CHANGED, standing=True
    )
    assert _points_changed(customer, library, change=1, dedupe="p1").consent_id == consent.pk

    _save_standing(points_on, False)

    with pytest.raises(NoConsent):
        _points_changed(customer, library, change=2, dedupe="p2")
    assert not messaging.consent_covers(
        customer=customer, app=library, key=TemplateKey.POINTS_CHANGED, subject=None
    )
    # Nobody can be given a new standing one meanwhile.
    with pytest.raises(MessagingError, match="one message at a time"):
        messaging.consent_give(
            customer=customer_create_guest(),
            app=library,
            key=TemplateKey.POINTS_CHANGED,
            standing=True,
        )
    consent.refresh_from_db()
    assert consent.status == Consent.Status.ACTIVE  # not revoked: it only does not count
    assert Message.objects.filter(customer=customer).count() == 1

    _save_standing(Template.objects.get(pk=points_on.pk), True)

    again = _points_changed(customer, library, change=3, dedupe="p3")
    assert again.consent_id == consent.pk
    assert Message.objects.filter(customer=customer).count() == 2


@pytest.mark.django_db
def test_a_one_time_consent_still_works_when_standing_is_withdrawn(customer, library, points_on):
    once = messaging.consent_give(customer=customer, app=library, key=TemplateKey.POINTS_CHANGED)
    _save_standing(points_on, False)
    assert _points_changed(customer, library, dedupe="p1").consent_id == once.pk


# --- giving consent twice ------------------------------------------------------------------


@pytest.mark.django_db
def test_giving_the_same_consent_twice_is_one_consent(customer, library):
    first = messaging.consent_give(customer=customer, app=library, key=TemplateKey.ORDER_READY)
    second = messaging.consent_give(customer=customer, app=library, key=TemplateKey.ORDER_READY)
    assert first.pk == second.pk
    # About something else, it is another consent.
    other = messaging.consent_give(
        customer=customer,
        app=library,
        key=TemplateKey.ORDER_READY,
        subject=ConsentSubject(Template.Subject.ORDER, "abc"),
    )
    assert other.pk != first.pk
    assert Consent.objects.count() == 2


# --- signing in: a guest's consents, inbox and devices move --------------------------------


@pytest.mark.django_db
def test_signing_in_moves_consents_inbox_and_devices(customer, library, points_on):
    from tests.push_endpoint import Device

    account = Customer.objects.create(email="ann@example.test")
    waiting = messaging.consent_give(customer=customer, app=library, key=TemplateKey.ORDER_READY)
    standing = messaging.consent_give(
        customer=customer, app=library, key=TemplateKey.POINTS_CHANGED, standing=True
    )
    sent = _points_changed(customer, library, dedupe="p1")
    Message.objects.filter(pk=sent.pk).update(delivered_at=sent.created_at)
    phone = Device("https://push.example.test/phone").subscription()
    device = messaging.push_subscribe(
        customer=customer,
        endpoint=phone["endpoint"],
        p256dh=phone["keys"]["p256dh"],
        auth=phone["keys"]["auth"],
    )
    # The account already had the same standing consent, and a message with the same key.
    mine = messaging.consent_give(
        customer=account, app=library, key=TemplateKey.POINTS_CHANGED, standing=True
    )
    same_key = _points_changed(account, library, dedupe="p1")

    with transaction.atomic():
        customer_merge(source=customer, target=account)

    waiting.refresh_from_db()
    standing.refresh_from_db()
    assert waiting.customer_id == account.pk and waiting.status == Consent.Status.ACTIVE
    # One standing consent in force for the account, not two.
    assert standing.status == Consent.Status.REVOKED
    assert set(messaging.consents_of(account).values_list("pk", flat=True)) == {
        waiting.pk,
        mine.pk,
    }
    assert list(messaging.consents_of(customer)) == []
    # The account's own message with that key stands; the guest's copy stays with the guest.
    assert Message.objects.get(pk=sent.pk).customer_id == customer.pk
    assert Message.objects.get(pk=same_key.pk).customer_id == account.pk
    assert list(messaging.devices_of(account)) == [device]
    assert list(messaging.devices_of(customer)) == []
    # The moved consent now serves the account, and a message reaches the moved device.
    message = _ready(account, library, dedupe="r1")
    assert message.consent_id == waiting.pk
    assert Delivery.objects.filter(message=message, channel="push", subscription=device).exists()
    with pytest.raises(NoConsent):
        _ready(customer, library, dedupe="r2")


@pytest.mark.django_db
def test_signing_in_moves_the_inbox(customer, library):
    account = Customer.objects.create(email="bo@example.test")
    messaging.consent_give(customer=customer, app=library, key=TemplateKey.ORDER_READY)
    message = _ready(customer, library)  # no key
    Message.objects.filter(pk=message.pk).update(delivered_at=message.created_at)
    assert list(messaging.inbox_of(customer)) == [message]
    with transaction.atomic():
        customer_merge(source=customer, target=account)
    assert list(messaging.inbox_of(account)) == [message]
    assert list(messaging.inbox_of(customer)) == []
    assert messaging.unread_count(account.pk) == 1
    used = Consent.objects.get()
    assert used.customer_id == account.pk and used.status == Consent.Status.USED


# --- never another customer's, never another app's -------------------------------------------


@pytest.mark.django_db
def test_a_consent_serves_only_its_customer_and_its_app(customer, library, other_merchant):
    other_app = MiniApp.objects.get(merchant=other_merchant)
    messaging.app_templates_defaults(other_app)
    assert AppTemplate.objects.filter(app=other_app, template__key="order_ready").exists()
    consent = messaging.consent_give(customer=customer, app=library, key=TemplateKey.ORDER_READY)
    stranger = customer_create_guest()

    with pytest.raises(NoConsent):
        _ready(stranger, library, dedupe="s")
    with pytest.raises(NoConsent):
        _ready(customer, other_app, dedupe="o")
    assert not messaging.consent_covers(
        customer=stranger, app=library, key=TemplateKey.ORDER_READY, subject=None
    )
    assert not messaging.consent_covers(
        customer=customer, app=other_app, key=TemplateKey.ORDER_READY, subject=None
    )
    # Nor can anyone else turn it off or change it.
    assert not messaging.consent_revoke(customer=stranger, public_id=consent.public_id)
    assert not messaging.consent_set_email(
        customer=stranger, public_id=consent.public_id, email=True
    )
    assert not Message.objects.exists()
    consent.refresh_from_db()
    assert consent.status == Consent.Status.ACTIVE
    # Its own customer in its own app still has it.
    assert _ready(customer, library, dedupe="c").consent_id == consent.pk


@pytest.mark.django_db
def test_a_grant_serves_only_its_payer(paid, customer, library):
    stranger = customer_create_guest()
    with pytest.raises(NoConsent):
        _ready(stranger, paid.app, subject=_order_subject(paid), dedupe="x")
    assert Consent.objects.get(kind=Consent.Kind.GRANT).status == Consent.Status.ACTIVE


# --- races ---------------------------------------------------------------------------------


def _meet_before(monkeypatch, module, name: str, parties: int, wait: float = 1.0):
    """Hold each racer at module.<name> until all arrive, so each has done
    everything before it (read the consent, missed the other's message) when the first goes
    on. On SQLite the first holds the write lock there and no one else can arrive: the wait
    times out and the lock decides, as it would in production."""
    barrier = threading.Barrier(parties)
    original = getattr(module, name)

    def held(*args, **kwargs):
        try:
            barrier.wait(wait)
        except threading.BrokenBarrierError:
            pass
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, held)
    return barrier


def _fresh(customer, app):
    """Each thread loads its own objects, as each request would."""
    return Customer.objects.get(pk=customer.pk), MiniApp.objects.get(pk=app.pk)


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_racing_double_submits_of_a_consent_make_one(concurrently, customer, library):
    def give(_i):
        who, app = _fresh(customer, library)
        return messaging.consent_give(
            customer=who,
            app=app,
            key=TemplateKey.ORDER_READY,
            subject=ConsentSubject(Template.Subject.ORDER, "x"),
        )

    results = concurrently(give, 8)
    assert all(isinstance(r, Consent) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Consent.objects.count() == 1


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_two_senders_racing_for_one_consent_send_one_message(
    concurrently, monkeypatch, customer, library
):
    consent = messaging.consent_give(customer=customer, app=library, key=TemplateKey.ORDER_READY)
    _meet_before(monkeypatch, sending, "consent_use", 2)

    def send(i):
        who, app = _fresh(customer, library)
        return _ready(who, app, dedupe=f"sender-{i}")

    results = concurrently(send, 2)
    sent = [r for r in results if isinstance(r, Message)]
    refused = [r for r in results if isinstance(r, NoConsent)]
    assert (len(sent), len(refused)) == (1, 1), results
    assert list(Message.objects.values_list("pk", flat=True)) == [sent[0].pk]
    assert Delivery.objects.filter(message=sent[0]).count() == 1
    assert Delivery.objects.count() == 1  # the loser's rows were rolled back with it
    consent.refresh_from_db()
    assert consent.status == Consent.Status.USED


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_many_senders_racing_for_one_consent_send_one_message(concurrently, customer, library):
    messaging.consent_give(customer=customer, app=library, key=TemplateKey.ORDER_READY)

    def send(i):
        who, app = _fresh(customer, library)
        return _ready(who, app, dedupe=f"sender-{i}")

    results = concurrently(send, 10)
    assert all(isinstance(r, Message | NoConsent) for r in results), results
    assert sum(isinstance(r, Message) for r in results) == 1
    assert Message.objects.count() == 1


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["one_time", "standing"])
def test_a_retry_racing_with_the_same_key_returns_the_one_message(
    concurrently, monkeypatch, customer, library, points_on, kind
):
    if kind == "one_time":
        messaging.consent_give(customer=customer, app=library, key=TemplateKey.POINTS_CHANGED)
    else:
        messaging.consent_give(
            customer=customer, app=library, key=TemplateKey.POINTS_CHANGED, standing=True
        )
    _meet_before(monkeypatch, sending, "consent_use", 2)

    def send(_i):
        who, app = _fresh(customer, library)
        return _points_changed(who, app, dedupe="points:42")

    results = concurrently(send, 2)
    assert all(isinstance(r, Message) for r in results), results
    assert results[0].pk == results[1].pk
    assert Message.objects.count() == 1
    assert Delivery.objects.count() == 1
