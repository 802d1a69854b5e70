"""The console's offer form: who can have the coupons (everyone, members, a level and above)
and how they get them (claimed, issued on joining, issued on reaching a level)."""

import pytest
from django.urls import reverse

from tapgo.coupons.models import Batch, Coupon
from tapgo.membership import services as membership

pytestmark = pytest.mark.django_db

NEW = {
    "name": "Gold gift",
    "kind": "amount",
    "amount": "5",
    "valid_days": "7",
    "per_customer_cap": "1",
}


@pytest.fixture
def gold(merchant):
    return membership.level_save(
        merchant=merchant, name="Gold", threshold=500, rank=1, discount_bps=0
    )


def test_the_form_offers_audience_and_automatic_issuing(owner_client, merchant, gold):
    url = reverse("console:coupons", args=[merchant.public_id])
    page = owner_client.get(url).content.decode()
    for text in ("Who can have it", "Members at a level or above", "Issued on joining the card",
                 "Issued on reaching the level below", ">Gold<"):  # fmt: skip
        assert text in page, text

    owner_client.post(url, NEW | {"audience": "level", "level": gold.pk})
    batch = Batch.objects.get()
    assert (batch.audience, batch.level, batch.auto_issue) == ("level", gold, "")

    edit = reverse("console:coupon_batch", args=[merchant.public_id, batch.public_id])
    page = owner_client.get(edit).content.decode()
    assert 'name="audience" value="level" id="id_audience_2" checked' in page
    owner_client.post(edit, NEW | {"issued_on": "level", "level": gold.pk})
    batch.refresh_from_db()
    assert (batch.audience, batch.level, batch.auto_issue) == ("level", gold, "level")

    owner_client.post(url, NEW | {"name": "Welcome", "issued_on": "join", "per_customer_cap": ""})
    welcome = Batch.objects.get(name="Welcome")
    assert (welcome.audience, welcome.auto_issue, welcome.per_customer_cap) == (
        "members",
        "join",
        1,
    )


def test_a_level_offer_without_its_level_is_refused(owner_client, merchant):
    url = reverse("console:coupons", args=[merchant.public_id])
    response = owner_client.post(url, NEW | {"audience": "level"})
    assert response.status_code == 400 and "Choose the level." in response.content.decode()
    assert not Batch.objects.exists()


def test_staff_cannot_grant_a_members_offer_to_a_non_member(owner_client, merchant, app, customer):
    url = reverse("console:coupons", args=[merchant.public_id])
    owner_client.post(url, NEW | {"name": "Members", "audience": "members"})
    batch = Batch.objects.get()
    grant = reverse("console:coupon_batch_grant", args=[merchant.public_id, batch.public_id])
    refused = owner_client.post(grant, {"customer": customer.public_id}, follow=True)
    assert "this customer has not joined the card" in refused.content.decode()
    membership.member_join(merchant=merchant, customer=customer, app=app)
    owner_client.post(grant, {"customer": customer.public_id})
    assert Coupon.objects.get().source == "staff"


def test_deleting_a_level_an_offer_is_for_says_which_offer(owner_client, merchant, gold):
    owner_client.post(
        reverse("console:coupons", args=[merchant.public_id]),
        NEW | {"audience": "level", "level": gold.pk},
    )
    response = owner_client.post(
        reverse("console:level_delete", args=[merchant.public_id]),
        {"level": gold.public_id},
        follow=True,
    )
    assert "Offers are for this level (Gold gift)" in response.content.decode()
    assert membership.levels_of(merchant)
