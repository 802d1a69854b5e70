"""Joining the card in one tap (a guest's sign-in carries the join), offers for members or a
level on the claim page (the join button, back to the offer), and the card page's
"coupon about to expire" toggle."""

import re
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from tapgo.core.actors import SYSTEM
from tapgo.coupons.models import Coupon
from tapgo.membership import services as membership
from tapgo.membership.models import Member
from tapgo.messaging import services as messaging
from tapgo.messaging.keys import TemplateKey
from tapgo.messaging.models import Consent
from tapgo.shell.tests.test_money import card_url, member, text, visit

pytestmark = pytest.mark.django_db


def join_url(app, back=""):
    url = reverse("shell:card_join", args=[app.slug])
    return f"{url}?{urlencode({'next': back})}" if back else url


def sign_in(client, signin, mailoutbox, email="ann@example.com"):
    page = text(client.post(signin, {"step": "email", "email": email}))
    token = re.search(r'name="token" value="([^"]+)"', page)[1]
    code = re.search(r"\b(\d{6})\b", mailoutbox[-1].body)[1]
    return client.post(signin, {"step": "code", "token": token, "code": code})


def test_a_guest_joins_with_the_sign_in_code_no_second_tap(client, app, mailoutbox, make_batch):
    """Bug: after the email code the guest was back on the card and had to tap Join again."""
    welcome = make_batch(name="Welcome", issued_on="join")
    visit(client, app)
    signin = client.post(join_url(app)).url
    assert "Signing in joins the membership card of" in text(client.get(signin))

    response = sign_in(client, signin, mailoutbox)

    assert response.status_code == 302 and response.url == card_url(app)
    card = Member.objects.get()
    assert card.customer.email == "ann@example.com"
    assert Coupon.objects.get(customer=card.customer).batch == welcome
    page = text(client.get(card_url(app)))
    assert "Welcome! You are member 1." in page and 'data-testid="member-code"' not in page


def test_signing_in_for_something_else_joins_nothing(client, app, mailoutbox):
    visit(client, app)
    signin = reverse("shell:signin") + "?" + urlencode({"next": card_url(app)})
    assert "Signing in joins" not in text(client.get(signin))
    assert sign_in(client, signin, mailoutbox).url == card_url(app)
    assert not Member.objects.exists()


def test_a_join_link_opened_joins_nobody(client, app):
    member(client, app)
    response = client.get(join_url(app, "/m/elsewhere/"))
    assert response.url == "/m/elsewhere/" and not Member.objects.exists()
    assert client.get(join_url(app, "https://evil.test/")).url == card_url(app)


def test_a_members_offer_offers_the_join_button_and_comes_back(client, app, make_batch):
    batch = make_batch(name="Member treat", audience="members")
    claim = reverse("shell:campaign", args=[app.slug, batch.public_id])
    visit(client, app)
    listing = text(client.get(reverse("shell:coupons", args=[app.slug])))
    assert "Member treat" in listing and 'data-testid="offer-audience"' in listing

    page = text(client.get(claim))
    assert "Join the card to claim this coupon." in page
    assert 'data-testid="claim"' not in page and 'data-testid="card-join"' in page
    assert f'action="{join_url(app, claim)}"'.replace("&", "&amp;") in page
    assert "You will sign in with your email first." in page

    posted = client.post(claim)  # the coupons page's button, say: back to the offer
    assert posted.url == claim and not Coupon.objects.exists()
    assert "Join the card to claim this coupon." in text(client.get(posted.url))

    guest_join = client.post(join_url(app, claim))
    signin = reverse("shell:signin") + "?" + urlencode({"next": join_url(app, claim)})
    assert guest_join.url == signin


def test_a_signed_in_customer_joins_and_lands_back_on_the_offer(client, app, make_batch):
    batch = make_batch(name="Member treat", audience="members")
    claim = reverse("shell:campaign", args=[app.slug, batch.public_id])
    member(client, app)
    assert client.post(join_url(app, claim)).url == claim
    page = text(client.get(claim))
    assert 'data-testid="claim"' in page
    client.post(claim)
    assert Coupon.objects.count() == 1


def test_a_guest_signing_in_to_join_for_an_offer_lands_back_on_it(
    client, app, make_batch, mailoutbox
):
    batch = make_batch(name="Member treat", audience="members")
    claim = reverse("shell:campaign", args=[app.slug, batch.public_id])
    visit(client, app)
    signin = client.post(join_url(app, claim)).url
    assert sign_in(client, signin, mailoutbox).url == claim
    assert Member.objects.count() == 1
    client.post(claim)
    assert Coupon.objects.count() == 1


def test_a_level_offer_says_which_level(client, app, merchant, make_batch):
    gold = membership.level_save(
        merchant=merchant, name="Gold", threshold=100, rank=1, discount_bps=0
    )
    batch = make_batch(name="Gold treat", audience="level", level=gold)
    claim = reverse("shell:campaign", args=[app.slug, batch.public_id])
    customer = member(client, app)
    client.post(join_url(app))
    page = text(client.get(claim))
    assert "For Gold members and above." in page and 'data-testid="claim"' not in page
    assert 'data-testid="card-join"' not in page
    refused = text(client.post(claim, follow=True))
    assert "For Gold members and above." in refused and not Coupon.objects.exists()
    assert "For Gold members and above." in text(
        client.get(reverse("shell:coupons", args=[app.slug]))
    )

    card = Member.objects.get(customer=customer)
    membership.points_adjust(member=card, points=150, reason="t", key="k", actor=SYSTEM)
    assert 'data-testid="claim"' in text(client.get(claim))
    client.post(claim)
    assert Coupon.objects.count() == 1


def test_the_card_page_asks_for_coupon_reminders_without_javascript(client, app):
    customer = member(client, app)
    client.post(join_url(app))
    assert 'data-testid="coupon-notices"' not in text(client.get(card_url(app)))  # app: off
    template = messaging.template_by_key(TemplateKey.COUPON_EXPIRING)
    messaging.app_template_switch(app=app, template=template, on=True)
    page = text(client.get(card_url(app)))
    assert "Remind me before my coupons expire" in page
    notices = reverse("shell:card_notices", args=[app.slug])

    client.post(notices, {"what": "coupons", "on": "1"})
    page = text(client.get(card_url(app)))
    assert "Stop reminding me before my coupons expire" in page
    assert Consent.objects.get(customer=customer, status="active").template == template
    client.post(notices, {"what": "coupons", "on": "0"})
    assert "Remind me before my coupons expire" in text(client.get(card_url(app)))
    assert not Consent.objects.filter(customer=customer, status="active").exists()

    bogus = text(client.post(notices, {"what": "spam", "on": "1"}, follow=True))
    assert "does not send this notification" in bogus
