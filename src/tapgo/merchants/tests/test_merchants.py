"""Merchants and stores: validation, the console's one permission check, staff."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from tapgo.flows import listings
from tapgo.identity.services import staff_user_create
from tapgo.merchants import services
from tapgo.merchants.models import Invitation, Membership, Merchant, Role, Store
from tapgo.merchants.services import MerchantError


def create(owner, **kwargs):
    return services.merchant_create(owner=owner, **{"name": "Corner Shop", **kwargs})


def test_create_makes_a_store_and_an_owner(owner):
    merchant = create(
        owner,
        name="  Corner Shop ",
        address=" 1 Main St ",
        latitude=Decimal("31.230416"),
        longitude=Decimal("121.473701"),
        time_zone="Asia/Shanghai",
        currency="cny",
    )
    assert merchant.name == "Corner Shop"
    assert merchant.currency == "CNY"
    store = services.merchant_store(merchant)
    assert (store.address, store.time_zone) == ("1 Main St", "Asia/Shanghai")
    assert store.tz.key == "Asia/Shanghai"
    assert Membership.objects.get(merchant=merchant).role == Role.OWNER
    assert list(services.merchants_of(owner)) == [merchant]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": ""},
        {"name": "   "},
        {"latitude": Decimal("91"), "longitude": Decimal("0")},
        {"latitude": Decimal("-90.000001"), "longitude": Decimal("0")},
        {"latitude": Decimal("0"), "longitude": Decimal("180.5")},
        {"latitude": Decimal("0"), "longitude": Decimal("-181")},
        {"latitude": Decimal("30"), "longitude": None},
        {"latitude": None, "longitude": Decimal("120")},
        {"time_zone": "Mars/Olympus_Mons"},
        {"time_zone": ""},
        {"time_zone": "asia/shanghai"},
        {"currency": "XXXX"},
        {"currency": "ZZZ"},
        {"currency": "12$"},
    ],
)
def test_bad_merchant_input_is_refused_and_changes_nothing(owner, kwargs):
    with pytest.raises(MerchantError):
        create(owner, **kwargs)
    assert not Merchant.objects.exists()
    assert not Store.objects.exists()
    assert not Membership.objects.exists()


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(Decimal("90"), Decimal("180")), (Decimal("-90"), Decimal("-180")), (None, None)],
)
def test_edge_locations_are_kept_as_given(owner, latitude, longitude):
    merchant = create(owner, latitude=latitude, longitude=longitude)
    store = Store.objects.get(merchant=merchant)
    assert (store.latitude, store.longitude) == (latitude, longitude)


def test_update_validates_like_create(merchant):
    store_fields = dict(address="", latitude=None, longitude=None, opening_hours="")
    with pytest.raises(MerchantError):
        listings.merchant_update(merchant=merchant, name=" ", time_zone="UTC", **store_fields)
    with pytest.raises(MerchantError):
        listings.merchant_update(merchant=merchant, name="X", time_zone="Nowhere", **store_fields)
    assert Merchant.objects.get(pk=merchant.pk).name == "Test Café"

    listings.merchant_update(
        merchant=merchant, name="New Name", time_zone="Europe/Berlin", **store_fields
    )
    assert merchant.name == "New Name"
    assert services.merchant_store(merchant).time_zone == "Europe/Berlin"


def test_access_merchant_answers_404_for_anyone_else(owner, merchant, other_merchant):
    assert services.access_merchant(user=owner, merchant_public_id=merchant.public_id) == (
        merchant,
        Role.OWNER,
    )
    with pytest.raises(Http404):
        services.access_merchant(user=owner, merchant_public_id=other_merchant.public_id)
    with pytest.raises(Http404):
        services.access_merchant(user=owner, merchant_public_id="nosuchmerchant")
    with pytest.raises(Http404):
        services.access_merchant(user=AnonymousUser(), merchant_public_id=merchant.public_id)


def test_staff_are_not_owners(merchant, owner, mailoutbox, django_capture_on_commit_callbacks):
    barista = staff_user_create(email="barista@cafe.test", password="correct horse battery")
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(
            merchant=merchant, invited_by=owner, email=" Barista@Cafe.test", role=Role.STAFF
        )
    assert mailoutbox[0].to == ["barista@cafe.test"]
    assert invitation.public_id in mailoutbox[0].body

    assert services.invitation_accept(invitation=invitation, user=barista) == merchant
    with pytest.raises(MerchantError):
        services.invitation_accept(invitation=invitation, user=barista)  # used once
    with pytest.raises(Http404):
        services.invitation_get(invitation.public_id)

    assert services.access_merchant(user=barista, merchant_public_id=merchant.public_id)[1] == (
        Role.STAFF
    )
    with pytest.raises(Http404):
        services.access_merchant(
            user=barista, merchant_public_id=merchant.public_id, owner_only=True
        )


def test_invitations_are_checked(merchant, owner):
    with pytest.raises(MerchantError):
        services.invitation_create(
            merchant=merchant, invited_by=owner, email="x@cafe.test", role="boss"
        )
    with pytest.raises(MerchantError):  # already on the team
        services.invitation_create(
            merchant=merchant, invited_by=owner, email="OWNER@cafe.test", role=Role.STAFF
        )
    invitation = services.invitation_create(
        merchant=merchant, invited_by=owner, email="x@cafe.test", role=Role.STAFF
    )
    intruder = staff_user_create(email="y@cafe.test", password="correct horse battery")
    with pytest.raises(MerchantError):
        services.invitation_accept(invitation=invitation, user=intruder)
    assert Invitation.objects.get().accepted_at is None


def test_staff_remove_is_tenant_scoped(merchant, owner, other_merchant):
    other_owner = Membership.objects.get(merchant=other_merchant).user
    with pytest.raises(Http404):
        services.staff_remove(merchant=merchant, user_public_id=other_owner.public_id, acting=owner)
    with pytest.raises(MerchantError):
        services.staff_remove(merchant=merchant, user_public_id=owner.public_id, acting=owner)
    assert Membership.objects.count() == 2


def test_pausing_ordering(merchant):
    services.ordering_pause(merchant=merchant, paused=True, reason="  Back soon  ")
    fresh = Merchant.objects.get(pk=merchant.pk)
    assert (fresh.ordering_paused, fresh.pause_reason) == (True, "Back soon")
    services.ordering_pause(merchant=merchant, paused=False, reason="ignored")
    fresh = Merchant.objects.get(pk=merchant.pk)
    assert (fresh.ordering_paused, fresh.pause_reason) == (False, "")
