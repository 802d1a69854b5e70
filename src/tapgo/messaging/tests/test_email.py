"""Email through a real SMTP server on loopback (aiosmtpd): who gets one, what it says, the
one-click unsubscribe (RFC 8058), and what the server's answers do to a delivery."""

import email
import email.policy
import socket
from datetime import timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from django.core import signing
from django.test import Client
from django.utils import timezone, translation

from tapgo.core.actors import SYSTEM
from tapgo.flows import orders as order_flows
from tapgo.identity.models import Customer
from tapgo.messaging import delivery
from tapgo.messaging import email as email_channel
from tapgo.messaging import services as messaging
from tapgo.messaging.keys import TemplateKey
from tapgo.messaging.models import Consent, Delivery, Message
from tapgo.ordering import services as ordering

S = Delivery.Status
ADDRESS = "ann@example.test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts and answers the addresses in `refuse`
    with the reply given there."""

    def __init__(self):
        self.envelopes = []
        self.refuse: dict[str, str] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(envelope.content, policy=email.policy.default)
            for envelope in self.envelopes
        ]


def smtp_settings(port: int) -> dict:
    """MAILERS as settings.py builds it from TAPGO_SMTP_URL=smtp://127.0.0.1:<port>."""
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": "127.0.0.1",
                "port": port,
                "username": "",
                "password": "",
                "use_tls": False,
                "use_ssl": False,
                "timeout": 10,
            },
        }
    }


@pytest.fixture
def smtp(settings):
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = smtp_settings(port)
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def signed_in(db):
    return Customer.objects.create(email=ADDRESS)


def send_article(customer, app, title="Spring menu", *, email=True, deliver=True) -> Message:
    messaging.consent_give(
        customer=customer, app=app, key=TemplateKey.NEW_ARTICLE, standing=True, email=email
    )
    message = messaging.notify(
        customer=customer,
        app=app,
        key=TemplateKey.NEW_ARTICLE,
        values={"app": app.name, "title": title},
        link=f"/m/{app.slug}/",
    )
    if deliver:
        delivery.deliver_message(message.pk)
    return message


def email_of(message: Message) -> Delivery:
    return Delivery.objects.get(message=message, channel=Delivery.Channel.EMAIL)


def unsubscribe_path(mail) -> str:
    header = mail["List-Unsubscribe"]
    assert header.startswith("<") and header.endswith(">"), header
    return urlsplit(header[1:-1]).path


def article_consent(customer, app) -> Consent:
    return Consent.objects.get(customer=customer, app=app, template__key="new_article")


# --- who gets an email, and what it says -----------------------------------------------------


def test_a_customer_who_asked_for_email_gets_it(signed_in, app, smtp, settings):
    message = send_article(signed_in, app, "Spring menu")

    assert email_of(message).status == S.SENT
    assert len(smtp.envelopes) == 1
    envelope = smtp.envelopes[0]
    assert envelope.rcpt_tos == [ADDRESS]
    assert envelope.mail_from == parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    mail = smtp.messages()[0]
    assert mail["To"] == ADDRESS
    assert mail["Subject"] == "New from Test Café"  # the name once, not "Test Café: New from…"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Auto-Submitted"] == "auto-generated"
    unsubscribe = mail["List-Unsubscribe"][1:-1]
    assert unsubscribe.startswith(f"{settings.PUBLIC_URL}/me/unsubscribe/")
    body = mail.get_content()
    assert body.startswith("Spring menu")
    assert f"{settings.PUBLIC_URL}/me/n/{message.public_id}" in body
    assert unsubscribe in body  # the same link for people whose mail app shows no button
    # The inbox has it too.
    message.refresh_from_db()
    assert message.delivered_at is not None


def test_the_email_is_in_the_language_the_customer_asked_in(signed_in, app, smtp):
    with translation.override("zh-hans"):
        send_article(signed_in, app, "春季菜单")
    mail = smtp.messages()[0]
    assert mail["Subject"] == "Test Café 发布了新文章"
    assert mail.get_content().startswith("春季菜单")


def test_no_email_without_the_customers_choice(signed_in, app, smtp):
    message = send_article(signed_in, app, email=False)
    assert not Delivery.objects.filter(message=message, channel="email").exists()
    assert Delivery.objects.get(message=message).status == S.SENT  # the inbox
    assert smtp.envelopes == []


def test_no_email_for_a_guest_even_if_asked(customer, app, smtp):
    message = send_article(customer, app, email=True)
    assert article_consent(customer, app).email is False  # a guest has no address
    assert not Delivery.objects.filter(message=message, channel="email").exists()
    assert smtp.envelopes == []


def test_an_address_removed_before_delivery_means_no_email(signed_in, app, smtp):
    message = send_article(signed_in, app, deliver=False)
    assert email_of(message).status == S.QUEUED
    Customer.objects.filter(pk=signed_in.pk).update(email=None)
    delivery.deliver_message(message.pk)
    assert email_of(message).status == S.DROPPED
    assert smtp.envelopes == []


def test_the_grant_from_paying_never_emails(
    signed_in, app, product, smtp, django_capture_on_commit_callbacks
):
    ordering.cart_add(customer=signed_in, app=app, product_public_id=product.public_id, quantity=1)
    order = ordering.order_place(
        customer=signed_in, app=app, checkout_key="k-mail", fulfilment="pickup", pickup_name="Ann"
    )
    assert order_flows.order_mark_paid(order=order, amount=order.total, currency=order.currency)
    order_flows.order_accept(actor=SYSTEM, order=order)
    with django_capture_on_commit_callbacks(execute=True):
        order_flows.order_mark_ready(actor=SYSTEM, order=order)

    message = Message.objects.get(customer=signed_in)
    assert message.consent.kind == Consent.Kind.GRANT
    assert message.delivered_at is not None
    assert not Delivery.objects.filter(message=message, channel="email").exists()
    assert smtp.envelopes == []


def test_the_grant_speaks_the_language_the_order_was_placed_in(
    signed_in, app, product, smtp, django_capture_on_commit_callbacks
):
    """The grant is made when the payment is confirmed (a provider's webhook, in English);
    its messages are in the language the customer ordered in."""
    ordering.cart_add(customer=signed_in, app=app, product_public_id=product.public_id, quantity=1)
    with translation.override("zh-hans"):
        order = ordering.order_place(
            customer=signed_in, app=app, checkout_key="k-zh", fulfilment="pickup", pickup_name="安"
        )
    assert order.language == "zh-hans"
    with translation.override("en"):  # the webhook
        assert order_flows.order_mark_paid(order=order, amount=order.total, currency=order.currency)
        grant = Consent.objects.get(customer=signed_in, kind=Consent.Kind.GRANT)
        assert grant.language == "zh-hans"
        # The customer chose email for it on /me/notifications.
        assert messaging.consent_set_email(
            customer=signed_in, public_id=grant.public_id, email=True
        )
        order_flows.order_accept(actor=SYSTEM, order=order)
        with django_capture_on_commit_callbacks(execute=True):
            order_flows.order_mark_ready(actor=SYSTEM, order=order)

    message = Message.objects.get(customer=signed_in)
    assert (message.consent_id, message.language) == (grant.pk, "zh-hans")
    assert email_of(message).status == S.SENT
    mail = smtp.messages()[0]
    assert mail["Subject"] == "Test Café: 您的订单已做好"
    assert order.number in mail.get_content()


# --- one-click unsubscribe -------------------------------------------------------------------


def test_one_click_unsubscribe_stops_the_email_and_keeps_the_inbox(signed_in, app, smtp):
    send_article(signed_in, app, "Spring menu")
    path = unsubscribe_path(smtp.messages()[0])
    waiting = send_article(signed_in, app, "Waiting", deliver=False)  # queued before the click

    # What a mail client does: a POST with no cookie and no CSRF token.
    mail_client = Client(enforce_csrf_checks=True)
    response = mail_client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 204
    assert article_consent(signed_in, app).email is False

    # An email already queued is not sent; the inbox still gets the message.
    delivery.deliver_message(waiting.pk)
    assert email_of(waiting).status == S.DROPPED
    waiting.refresh_from_db()
    assert waiting.delivered_at is not None

    # The next message has no email delivery at all, and is in the inbox.
    messaging.notify(
        customer=signed_in,
        app=app,
        key=TemplateKey.NEW_ARTICLE,
        values={"app": app.name, "title": "Summer menu"},
        link=f"/m/{app.slug}/",
    )
    after = Message.objects.get(values__title="Summer menu")
    delivery.deliver_message(after.pk)
    assert not Delivery.objects.filter(message=after, channel="email").exists()
    after.refresh_from_db()
    assert after.delivered_at is not None
    assert len(smtp.envelopes) == 1

    # A second click is harmless.
    assert mail_client.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 204


def test_unsubscribing_stops_only_that_template_from_that_app(signed_in, app, other_merchant, smtp):
    from tapgo.miniapps.models import MiniApp

    bakery = MiniApp.objects.get(slug="bakery")
    send_article(signed_in, app)
    send_article(signed_in, bakery)
    cafe_mail, bakery_mail = smtp.messages()
    assert "Test Café" in cafe_mail["Subject"] and "Bakery" in bakery_mail["Subject"]

    assert (
        Client().post(unsubscribe_path(cafe_mail), {"List-Unsubscribe": "One-Click"}).status_code
        == 204
    )

    assert article_consent(signed_in, app).email is False
    assert article_consent(signed_in, bakery).email is True


def test_opening_the_link_asks_first_and_changes_nothing(signed_in, app, smtp):
    send_article(signed_in, app)
    path = unsubscribe_path(smtp.messages()[0])

    response = Client().get(path)  # a person, or a mail scanner following links

    assert response.status_code == 200
    page = response.content.decode()
    assert 'method="post"' in page and 'data-testid="unsubscribe"' in page
    assert article_consent(signed_in, app).email is True


def test_a_person_pressing_the_button_sees_it_done(signed_in, app, smtp):
    send_article(signed_in, app)
    path = unsubscribe_path(smtp.messages()[0])

    response = Client(enforce_csrf_checks=True).post(path, {})

    assert response.status_code == 200
    assert 'data-testid="unsubscribed"' in response.content.decode()
    assert article_consent(signed_in, app).email is False


def test_a_tampered_or_made_up_token_is_refused(signed_in, app, smtp):
    message = send_article(signed_in, app)
    token = email_channel.unsubscribe_token(message)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    forged = signing.dumps([signed_in.pk, app.pk, message.template_id], compress=True)  # no salt
    wrong_shape = signing.dumps(["x", app.pk, message.template_id], salt=email_channel.SALT)
    for bad in (flipped, forged, wrong_shape, "nonsense"):
        path = f"/me/unsubscribe/{bad}"
        for response in (
            Client().post(path, {"List-Unsubscribe": "One-Click"}),
            Client().get(path),
        ):
            assert response.status_code == 400, bad
            assert 'data-testid="unsubscribe-invalid"' in response.content.decode()
    assert article_consent(signed_in, app).email is True


# --- what the mail server answers ------------------------------------------------------------


def test_a_refused_address_is_dead_at_once(signed_in, app, smtp):
    smtp.refuse[ADDRESS] = "550 5.1.1 No such user here"
    message = send_article(signed_in, app)
    row = email_of(message)
    assert (row.status, row.attempts) == (S.DEAD, 1)
    assert ADDRESS not in row.last_error  # redacted: errors are stored and logged
    assert "550" in row.last_error
    assert list(delivery.dead_letters()) == [row]
    assert smtp.envelopes == []
    message.refresh_from_db()
    assert message.delivered_at is not None  # the inbox is not held back by the email


def test_a_greylisted_address_is_retried(signed_in, app, smtp):
    smtp.refuse[ADDRESS] = "451 4.7.1 Greylisted, try again later"
    message = send_article(signed_in, app)
    row = email_of(message)
    assert (row.status, row.attempts) == (S.FAILED, 1)
    assert "451" in row.last_error

    del smtp.refuse[ADDRESS]
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert delivery.deliveries_due() == 1
    assert email_of(message).status == S.SENT
    assert [e.rcpt_tos for e in smtp.envelopes] == [[ADDRESS]]


def test_a_mail_server_that_is_down_is_retried(signed_in, app, settings, smtp):
    running = settings.MAILERS
    settings.MAILERS = smtp_settings(free_port())  # nothing listens there
    before = timezone.now()
    message = send_article(signed_in, app)
    row = email_of(message)
    assert (row.status, row.attempts) == (S.FAILED, 1)
    assert "unreachable" in row.last_error
    assert row.next_attempt_at >= before + timedelta(seconds=settings.NOTIFY_RETRY_SECONDS)
    assert delivery.deliveries_due() == 0  # not due yet

    settings.MAILERS = running  # the server is back
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert delivery.deliveries_due() == 1
    row = email_of(message)
    assert (row.status, row.attempts, row.last_error) == (S.SENT, 2, "")
    assert [e.rcpt_tos for e in smtp.envelopes] == [[ADDRESS]]
