"""The console's Notifications page: switches per app (owners), the merchant's own figures."""

import re

import pytest
from django.urls import reverse

from tapgo.flows import listings
from tapgo.identity.models import Customer
from tapgo.identity.services import customer_create_guest
from tapgo.messaging import services as messaging
from tapgo.messaging.models import AppTemplate, Template
from tapgo.miniapps.models import MiniApp


def page_url(merchant):
    return reverse("console:notifications", args=[merchant.public_id])


def switch_url(merchant, app, key):
    return reverse("console:notification_switch", args=[merchant.public_id, app.public_id, key])


def is_on(app, key) -> bool:
    return AppTemplate.objects.filter(app=app, template__key=key).exists()


def shown(page: str, app) -> dict[str, str]:
    """key -> "1"/"0" for the app's section of the page."""
    section = re.search(
        rf'data-testid="app-templates" data-app="{app.public_id}">(.*?)</section>', page, re.S
    )
    return dict(re.findall(r'data-key="([^"]+)" data-on="([01])"', section.group(1)))


def stat_row(page: str, key: str) -> dict[str, str]:
    row = re.search(rf'<tr data-testid="stat" data-key="{key}">(.*?)</tr>', page, re.S)
    assert row, f"no figures for {key}"
    return dict(re.findall(r'data-testid="([a-z-]+)">([^<]*)<', row.group(1)))


def article_message(customer, app, n: int, *, email=False):
    messaging.consent_give(
        customer=customer, app=app, key="new_article", standing=True, email=email
    )
    return messaging.notify(
        customer=customer,
        app=app,
        key="new_article",
        values={"app": app.name, "title": f"News {n}"},
        link=f"/m/{app.slug}/a/n{n}/",
        dedupe=f"article:n{n}",
    )


# --- the page -----------------------------------------------------------------------------


def test_the_page_lists_every_active_template_per_app_with_its_state(owner_client, merchant, app):
    second = listings.app_create(merchant=merchant, name="Second counter", slug="second-counter")
    messaging.app_template_switch(
        app=second, template=Template.objects.get(key="order_ready"), on=False
    )
    Template.objects.filter(key="coupon_expiring").update(active=False)

    response = owner_client.get(page_url(merchant))

    assert response.status_code == 200
    page = response.content.decode()
    active = set(Template.objects.filter(active=True).values_list("key", flat=True))
    for each in (app, second):
        states = shown(page, each)
        assert set(states) == active  # the withdrawn template is not offered
        assert states == {key: "1" if is_on(each, key) else "0" for key in active}
    assert shown(page, app)["order_ready"] == "1" and shown(page, second)["order_ready"] == "0"
    assert shown(page, app)["booking_confirmed"] == "0"  # not on for new apps
    assert "Order ready for pickup" in page  # the name in the staff's language
    assert "A booking" in page  # what it is about
    assert "Until the customer turns it off" in page and "One message each time" in page
    assert 'aria-current="page">Notifications<' in page  # in the console's navigation
    assert "no-stats" in page


def test_the_page_makes_as_many_queries_for_five_apps_as_for_one(
    owner_client, merchant, app, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    article_message(customer_create_guest(), app, 1)
    owner_client.get(page_url(merchant))  # warm: the session, the staff's roles
    with CaptureQueriesContext(connection) as one_app:
        assert owner_client.get(page_url(merchant)).status_code == 200
    booking = Template.objects.get(key="booking_confirmed")
    more = [
        listings.app_create(merchant=merchant, name=f"Counter {n}", slug=f"counter-{n}")
        for n in range(4)
    ]
    for n, extra in enumerate(more):
        messaging.app_template_switch(app=extra, template=booking, on=n % 2 == 0)
        article_message(customer_create_guest(), extra, 10 + n)

    with django_assert_max_num_queries(len(one_app)):
        page = owner_client.get(page_url(merchant)).content.decode()

    assert page.count('data-testid="app-templates"') == 5
    for n, extra in enumerate(more):
        assert shown(page, extra)["booking_confirmed"] == ("1" if n % 2 == 0 else "0")
        assert shown(page, extra)["order_ready"] == ("1" if is_on(extra, "order_ready") else "0")
    assert stat_row(page, "new_article")["sent"] == "5"


def test_names_are_in_the_staff_language(owner_client, merchant, app):
    owner_client.cookies["django_language"] = "zh-hans"
    page = owner_client.get(page_url(merchant), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "取餐提醒" in page and "订单做好时通知我" in page


def test_the_owner_switches_a_template_on_and_off(owner_client, merchant, app):
    assert not is_on(app, "booking_confirmed")

    response = owner_client.post(switch_url(merchant, app, "booking_confirmed"), {"on": "1"})
    assert response.status_code == 302 and response.url == page_url(merchant)
    assert is_on(app, "booking_confirmed")
    page = owner_client.get(page_url(merchant)).content.decode()
    assert "now sends “Booking confirmed”" in page
    assert shown(page, app)["booking_confirmed"] == "1"

    owner_client.post(switch_url(merchant, app, "booking_confirmed"), {"on": "1"})  # twice: on
    assert AppTemplate.objects.filter(app=app, template__key="booking_confirmed").count() == 1

    owner_client.post(switch_url(merchant, app, "booking_confirmed"), {"on": "0"})
    assert not is_on(app, "booking_confirmed")


def test_switched_off_the_shell_no_longer_offers_it(owner_client, merchant, app):
    assert messaging.template_offered(app=app, key="order_ready") is not None
    owner_client.post(switch_url(merchant, app, "order_ready"), {"on": "0"})
    assert messaging.template_offered(app=app, key="order_ready") is None


@pytest.mark.parametrize("value", ["", "yes", "2", "1; DROP TABLE x", "<script>"])
def test_a_bad_switch_value_says_so_and_changes_nothing(owner_client, merchant, app, value):
    before = set(AppTemplate.objects.values_list("app_id", "template_id"))
    response = owner_client.post(switch_url(merchant, app, "order_ready"), {"on": value})
    assert response.status_code == 302
    page = owner_client.get(response.url).content.decode()
    assert "Choose on or off." in page
    assert set(AppTemplate.objects.values_list("app_id", "template_id")) == before


def test_a_withdrawn_template_cannot_be_switched_on(owner_client, merchant, app):
    Template.objects.filter(key="booking_confirmed").update(active=False)
    response = owner_client.post(switch_url(merchant, app, "booking_confirmed"), {"on": "1"})
    page = owner_client.get(response.url).content.decode()
    assert "This template is not offered any more." in page
    assert not is_on(app, "booking_confirmed")


@pytest.mark.parametrize("key", ["no_such_template", "x" * 41])
def test_an_unknown_template_is_404(owner_client, merchant, app, key):
    assert owner_client.post(switch_url(merchant, app, key), {"on": "1"}).status_code == 404


def test_switching_needs_a_post(owner_client, merchant, app):
    assert owner_client.get(switch_url(merchant, app, "order_ready")).status_code == 405
    assert is_on(app, "order_ready")


def test_staff_see_the_page_but_only_owners_switch(client, merchant, app, staff_member):
    client.force_login(staff_member)
    page = client.get(page_url(merchant)).content.decode()
    assert "Only an owner can switch notifications on or off." in page
    assert "switch-off" not in page and "switch-on" not in page
    assert client.post(switch_url(merchant, app, "order_ready"), {"on": "0"}).status_code == 404
    assert is_on(app, "order_ready")


def test_anonymous_goes_to_the_login(client, merchant, app):
    for response in (
        client.get(page_url(merchant)),
        client.post(switch_url(merchant, app, "order_ready"), {"on": "0"}),
    ):
        assert response.status_code == 302
        assert response.url.startswith(reverse("console:login") + "?next=")
    assert is_on(app, "order_ready")


# --- tenancy ------------------------------------------------------------------------------


def test_merchant_b_cannot_switch_or_see_a_s_apps(client, merchant, app, other_merchant):
    other_owner = other_merchant_owner(other_merchant)
    client.force_login(other_owner)
    # A's app under B's merchant id, and A's merchant id itself: both 404, nothing changes.
    bad = reverse(
        "console:notification_switch", args=[other_merchant.public_id, app.public_id, "order_ready"]
    )
    assert client.post(bad, {"on": "0"}).status_code == 404
    assert client.post(switch_url(merchant, app, "order_ready"), {"on": "0"}).status_code == 404
    assert client.get(page_url(merchant)).status_code == 404
    assert is_on(app, "order_ready")
    page = client.get(page_url(other_merchant)).content.decode()
    assert app.public_id not in page and "Test Café" not in page


def other_merchant_owner(other_merchant):
    from tapgo.merchants.models import Membership

    return Membership.objects.get(merchant=other_merchant).user


def test_the_figures_count_only_the_merchant_s_own_messages(
    owner_client, merchant, app, other_merchant, push_endpoint, django_capture_on_commit_callbacks
):
    from tests.push_endpoint import Device

    reader = Customer.objects.create(email="reader@example.com")
    phone = Device(push_endpoint.url("/phone"))
    keys = phone.subscription()["keys"]
    messaging.push_subscribe(
        customer=reader, endpoint=phone.endpoint, p256dh=keys["p256dh"], auth=keys["auth"]
    )
    guest = customer_create_guest()
    bakery = MiniApp.objects.get(merchant=other_merchant)
    with django_capture_on_commit_callbacks(execute=True):
        # The café: three messages; one by push and email too; one opened.
        article_message(reader, app, 1, email=True)
        opened = article_message(guest, app, 2)
        article_message(guest, app, 3)
        # The bakery: two messages to the same people, both opened (not the café's).
        bakery_messages = [article_message(reader, bakery, 4), article_message(guest, bakery, 5)]
    messaging.message_open(public_id=opened.public_id, customer=opened.customer)
    for message in bakery_messages:
        messaging.message_open(public_id=message.public_id, customer=message.customer)

    page = owner_client.get(page_url(merchant)).content.decode()

    assert stat_row(page, "new_article") == {
        "sent": "3",
        "delivered": "3",
        "pushed": "1",
        "emailed": "1",
        "opened": "1",
        "opened-rate": "33%",
    }
    # Counts only: no customer, address, device or message shows.
    for secret in (
        "reader@example.com",
        phone.endpoint,
        reader.public_id,
        guest.public_id,
        opened.public_id,
    ):
        assert secret not in page

    # The bakery sees its own two, both opened.
    owner_client.force_login(other_merchant_owner(other_merchant))
    bakery_page = owner_client.get(page_url(other_merchant)).content.decode()
    row = stat_row(bakery_page, "new_article")
    assert [row[k] for k in ("sent", "pushed", "opened", "opened-rate")] == ["2", "1", "2", "100%"]
