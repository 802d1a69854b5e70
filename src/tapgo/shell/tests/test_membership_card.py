"""The membership card page: joining (a guest signs in first), level and points, the rotating
member code (with and without JavaScript), and asking for "points changed" messages."""

import re
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from tapgo.core.actors import SYSTEM
from tapgo.membership import services as membership
from tapgo.membership.models import Member
from tapgo.messaging import services as messaging
from tapgo.messaging.keys import TemplateKey
from tapgo.shell.tests.test_money import card_url, member, text, visit

pytestmark = pytest.mark.django_db


def join(client, app):
    return client.post(reverse("shell:card_join", args=[app.slug]))


def test_a_guest_is_sent_to_sign_in_before_joining(client, app):
    visit(client, app)
    page = text(client.get(card_url(app)))
    assert 'data-testid="card-join"' in page and "sign in with your email first" in page
    response = join(client, app)
    join_action = reverse("shell:card_join", args=[app.slug])
    assert response.url == reverse("shell:signin") + "?" + urlencode({"next": join_action})
    assert not Member.objects.exists()


def test_one_tap_joins_and_the_card_shows_level_points_and_the_code(client, app, merchant):
    customer = member(client, app)
    membership.level_save(merchant=merchant, name="Silver", threshold=500, rank=1,
                          discount_bps=500)  # fmt: skip
    assert join(client, app).url == card_url(app)
    join(client, app)  # a second tap: still one card
    card = Member.objects.get(customer=customer)
    membership.points_earn(member=card, amount=12000, key="o1", source="order", source_id=1)
    page = text(client.get(card_url(app)))
    assert re.search(r'data-testid="member-points">120<', page)
    assert "380 more points to reach Silver." in page
    code = membership.member_code(card)
    assert f"{code[:-6]} {code[-6:]}" in page and "<svg" in page
    assert 'data-testid="code-refresh"' in page  # without JavaScript: a link that reloads
    assert 'data-testid="member-code"' not in page  # the old fixed code is gone for a member
    assert "Earned" in page and 'data-testid="points-history"' in page


def test_the_level_and_its_benefit_show_and_a_negative_balance_is_shown_as_such(
    client, app, merchant
):
    customer = member(client, app)
    membership.level_save(merchant=merchant, name="Gold", threshold=10, rank=1,
                          discount_bps=1050)  # fmt: skip
    join(client, app)
    card = Member.objects.get(customer=customer)
    membership.points_adjust(member=card, points=20, reason="welcome", key="a", actor=SYSTEM)
    page = text(client.get(card_url(app)))
    assert re.search(r'data-testid="member-level">Gold<', page) and "10.5% off" in page
    membership.points_adjust(member=card, points=-50, reason="refund", key="b", actor=SYSTEM)
    page = text(client.get(card_url(app)))
    assert re.search(r'data-testid="member-points">-30<', page)
    assert 'data-testid="points-negative"' in page


def test_the_code_block_is_fetched_fresh_and_only_by_the_member(client, app):
    customer = member(client, app)
    url = reverse("shell:card_code", args=[app.slug])
    assert client.get(url).status_code == 404
    join(client, app)
    response = client.get(url)
    code = membership.member_code(Member.objects.get(customer=customer))
    assert response.status_code == 200 and code[-6:] in text(response)
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


def test_the_customer_can_ask_for_points_messages_and_stop(client, app):
    member(client, app)
    join(client, app)
    assert 'data-testid="points-notices"' not in text(client.get(card_url(app)))  # app off
    template = messaging.template_by_key(TemplateKey.POINTS_CHANGED)
    messaging.app_template_switch(app=app, template=template, on=True)
    assert "Tell me when my points change" in text(client.get(card_url(app)))
    notices = reverse("shell:card_notices", args=[app.slug])
    client.post(notices, {"on": "1"})
    assert "Stop telling me when my points change" in text(client.get(card_url(app)))
    client.post(notices, {"on": "0"})
    assert "Tell me when my points change" in text(client.get(card_url(app)))


def test_the_card_speaks_chinese(client, app, settings):
    member(client, app)
    join(client, app)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = text(client.get(card_url(app)))
    assert "会员卡" in page and "会员码" in page


def test_the_card_lists_the_coupons_an_order_could_use_now(client, app, make_batch):
    from django.utils import timezone

    from tapgo.coupons import services as coupons
    from tapgo.coupons.models import Coupon

    customer = visit(client, app)
    page = text(client.get(card_url(app)))
    assert 'data-testid="card-coupon"' not in page and "No coupons yet." in page

    usable = make_batch(name="¥5 off ¥30")
    ended = make_batch(name="Old offer", per_customer_cap=None)
    coupons.coupon_issue(batch=usable, customer=customer, source="claimed")
    gone = coupons.coupon_issue(batch=ended, customer=customer, source="claimed")
    Coupon.objects.filter(pk=gone.pk).update(expires_at=timezone.now())

    page = text(client.get(card_url(app)))
    listed = re.findall(r'data-testid="card-coupon"><span class="line-name">([^<]+) <', page)
    assert listed == ["¥5 off ¥30"]
