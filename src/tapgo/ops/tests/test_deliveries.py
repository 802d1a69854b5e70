"""The ops console's dead letters (retry one, retry all shown) and a message's delivery log."""

import re

import pytest
from django.urls import reverse

from tapgo.identity.models import Customer
from tapgo.messaging import services as messaging
from tapgo.messaging.models import Delivery, Message
from tapgo.ops.views import redacted

DEAD = reverse("ops:dead_letters")
RETRY = reverse("ops:dead_letters_retry")
LOG = reverse("ops:message_log")


@pytest.fixture
def reader(db):
    return Customer.objects.create(email="reader@example.com")


@pytest.fixture
def phone(reader, push_endpoint):
    from tests.push_endpoint import Device

    device = Device(push_endpoint.url("/phone-secret-token"))
    keys = device.subscription()["keys"]
    messaging.push_subscribe(
        customer=reader, endpoint=device.endpoint, p256dh=keys["p256dh"], auth=keys["auth"]
    )
    return device


def send(customer, app, n: int, capture) -> Message:
    messaging.consent_give(customer=customer, app=app, key="new_article", standing=True)
    with capture(execute=True):
        return messaging.notify(
            customer=customer,
            app=app,
            key="new_article",
            values={"app": app.name, "title": f"News {n}"},
            link=f"/m/{app.slug}/a/n{n}/",
            dedupe=f"article:n{n}",
        )


@pytest.fixture
def dead_push(reader, app, phone, push_endpoint, django_capture_on_commit_callbacks):
    """A message whose push the push service refused for good (400); its inbox copy arrived."""
    push_endpoint.answer("/phone-secret-token", 400)
    message = send(reader, app, 1, django_capture_on_commit_callbacks)
    push = Delivery.objects.get(message=message, channel="push")
    assert push.status == Delivery.Status.DEAD
    return push


def shown_rows(page: str) -> list[str]:
    return re.findall(r'<tr data-testid="dead-letter" data-channel="([a-z]+)">', page)


def test_dead_letters_are_listed_without_addresses(ops_client, dead_push, app, phone):
    Delivery.objects.filter(pk=dead_push.pk).update(
        last_error="refused reader@example.com at http://127.0.0.1/phone-secret-token"
        " (Max retries exceeded with url: /phone-secret-token)"
    )
    page = ops_client.get(DEAD).content.decode()
    assert shown_rows(page) == ["push"]
    assert "new_article" in page and app.name in page
    assert "refused [address] at [address] (Max retries exceeded with url: [address])" in page
    for secret in ("reader@example.com", "phone-secret-token", phone.endpoint):
        assert secret not in page
    assert f"?message={dead_push.message.public_id}" in page  # its delivery log


def test_retrying_one_sends_it_again(
    ops_client, dead_push, push_endpoint, django_capture_on_commit_callbacks
):
    push_endpoint.answer("/phone-secret-token", 201)  # the push service is fine again
    with django_capture_on_commit_callbacks(execute=True):
        response = ops_client.post(RETRY, {"delivery": str(dead_push.pk), "next": DEAD})
    assert response.status_code == 302 and response.url == DEAD
    dead_push.refresh_from_db()
    assert (dead_push.status, dead_push.attempts) == (Delivery.Status.SENT, 1)
    assert len(push_endpoint.received("/phone-secret-token")) == 1
    page = ops_client.get(DEAD).content.decode()
    assert "1 delivery is queued again." in page and 'data-testid="no-dead-letters"' in page
    # the inbox copy was not delivered twice
    inbox = Delivery.objects.get(message=dead_push.message, channel="inbox")
    assert (inbox.status, inbox.attempts) == (Delivery.Status.SENT, 1)


def test_retry_all_shown_retries_exactly_the_rows_shown(
    ops_client, reader, app, dead_push, push_endpoint, django_capture_on_commit_callbacks
):
    second = Delivery.objects.get(
        message=send(reader, app, 2, django_capture_on_commit_callbacks), channel="push"
    )
    inbox = Delivery.objects.get(message=second.message, channel="inbox")
    Delivery.objects.filter(pk=inbox.pk).update(status=Delivery.Status.DEAD)  # a dead inbox row
    page = ops_client.get(DEAD + "?channel=push").content.decode()
    assert shown_rows(page) == ["push", "push"]  # the filter shows only pushes
    form = re.search(r'data-testid="retry-all">(.*?)</form>', page, re.S).group(1)
    ids = re.findall(r'name="delivery" value="(\d+)"', form)
    assert sorted(ids) == sorted([str(dead_push.pk), str(second.pk)])

    before = {d.pk: d.updated_at for d in Delivery.objects.all()}
    with django_capture_on_commit_callbacks(execute=True):
        ops_client.post(RETRY, {"delivery": ids, "next": DEAD + "?channel=push"})

    inbox.refresh_from_db()
    assert (inbox.status, inbox.attempts) == ("dead", 1)  # not shown, not retried
    for push in (dead_push, second):
        push.refresh_from_db()
        # retried with fresh tries, one used: the service still refuses, so dead again
        assert (push.status, push.attempts) == ("dead", 1)
        assert push.updated_at > before[push.pk]
    assert inbox.updated_at == before[inbox.pk]
    assert len(push_endpoint.received()) == 0
    assert "2 deliveries are queued again." in ops_client.get(DEAD).content.decode()


def test_a_retried_delivery_is_not_retried_twice(ops_client, dead_push):
    ops_client.post(RETRY, {"delivery": str(dead_push.pk)})  # its task not run: queued
    response = ops_client.post(RETRY, {"delivery": str(dead_push.pk)}, follow=True)
    assert "Nothing to retry: these were retried already." in response.content.decode()
    assert Delivery.objects.get(pk=dead_push.pk).status == Delivery.Status.QUEUED


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"delivery": ""},
        {"delivery": "abc"},
        {"delivery": "-1"},
        {"delivery": "1.5"},
        {"delivery": "٣"},  # a digit, but not an ASCII one
        {"delivery": "9" * 30},
        {"delivery": [str(n) for n in range(1, 103)]},
    ],
)
def test_bad_retry_input_says_so_and_changes_nothing(ops_client, dead_push, data):
    response = ops_client.post(RETRY, data, follow=True)
    assert response.status_code == 200
    assert "Choose deliveries from the list to retry." in response.content.decode()
    assert Delivery.objects.get(pk=dead_push.pk).status == Delivery.Status.DEAD


def test_retry_goes_back_only_to_a_path_here(ops_client, dead_push):
    response = ops_client.post(RETRY, {"delivery": "999999", "next": "https://evil.example/"})
    assert response.url == DEAD


@pytest.mark.parametrize(
    ("query", "problem"),
    [("channel=fax", "There is no channel “fax”."), ("template=nope", "There is no template")],
)
def test_a_bad_filter_says_so_and_shows_all(ops_client, dead_push, query, problem):
    page = ops_client.get(f"{DEAD}?{query}").content.decode()
    assert problem in page and shown_rows(page) == ["push"]


def test_the_template_filter(ops_client, dead_push):
    assert shown_rows(ops_client.get(DEAD + "?template=new_article").content.decode()) == ["push"]
    page = ops_client.get(DEAD + "?template=order_ready").content.decode()
    assert shown_rows(page) == []


# --- a message's delivery log -------------------------------------------------------------


def test_the_log_shows_channels_statuses_and_times_not_addresses(
    ops_client, dead_push, phone, reader
):
    message = dead_push.message
    messaging.message_open(public_id=message.public_id, customer=message.customer)
    page = ops_client.get(LOG, {"message": message.public_id}).content.decode()
    rows = re.findall(r'data-testid="delivery" data-channel="(\w+)" data-status="(\w+)"', page)
    assert rows == [("inbox", "sent"), ("push", "dead")]
    for when in ("queued", "delivered", "read", "opened"):
        value = re.search(rf'data-testid="{when}">([^<]*)<', page).group(1)
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", value), when
    for secret in ("reader@example.com", "phone-secret-token", reader.public_id):
        assert secret not in page


def test_an_unread_message_shows_dashes(
    ops_client, reader, app, django_capture_on_commit_callbacks
):
    message = send(reader, app, 3, django_capture_on_commit_callbacks)
    page = ops_client.get(LOG, {"message": message.public_id}).content.decode()
    assert 'data-testid="read">—<' in page and 'data-testid="opened">—<' in page


@pytest.mark.parametrize(
    "asked", ["", "nope", "<script>alert(1)</script>", "x" * 500, "aaaaaaaaaaaa"]
)
def test_a_bad_or_unknown_id_says_so(ops_client, db, asked):
    page = ops_client.get(LOG, {"message": asked}).content.decode()
    assert 'data-testid="message"' not in page
    assert ("No message has this id." in page) == bool(asked)
    assert "<script>alert(1)</script>" not in page


def test_redacted_keeps_what_is_not_an_address():
    assert redacted("push service answered 400: Push failed") == (
        "push service answered 400: Push failed"
    )
    assert redacted("the mail server refused the address: {'a@b.example': (550, b'no')}") == (
        "the mail server refused the address: {'[address]': (550, b'no')}"
    )
    assert redacted("") == ""
