from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from tapgo.merchants import services as merchants
from tapgo.merchants.models import Merchant


@pytest.fixture
def user_client(client, owner):
    client.force_login(owner)
    return client


def test_create_merchant_form_defaults(user_client):
    page = user_client.get(reverse("console:merchant_new")).content.decode()
    assert '<option value="Asia/Shanghai" selected>' in page
    assert 'value="CNY"' in page


def test_create_merchant(user_client, owner):
    response = user_client.post(
        reverse("console:merchant_new"),
        {
            "name": "Noodle Bar",
            "address": "1 Lane",
            "latitude": "31.2304",
            "longitude": "121.4737",
            "opening_hours": "11:00–22:00",
            "time_zone": "Asia/Hong_Kong",
            "currency": "hkd",
        },
    )
    merchant = Merchant.objects.get(name="Noodle Bar")
    assert response["Location"] == reverse("console:app_new", args=[merchant.public_id])
    assert merchant.currency == "HKD"
    store = merchants.merchant_store(merchant)
    assert store.time_zone == "Asia/Hong_Kong"
    assert store.latitude == Decimal("31.2304")
    assert merchant in merchants.merchants_of(owner)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"latitude": "31.2"}, "both latitude and longitude"),
        ({"latitude": "95", "longitude": "10"}, "less than or equal to 90"),
        ({"time_zone": "Mars/Olympus"}, "Select a valid choice"),
        ({"currency": "ZZZ"}, "Unknown currency"),
        ({"name": ""}, "required"),
        ({"latitude": "abc", "longitude": "1"}, "Enter a number"),
    ],
)
def test_create_merchant_refuses_bad_input(user_client, change, message):
    data = {"name": "Noodle Bar", "time_zone": "Asia/Shanghai", "currency": "CNY"} | change
    response = user_client.post(reverse("console:merchant_new"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Merchant.objects.filter(name="Noodle Bar").exists()


def test_settings_edit(owner_client, merchant):
    url = reverse("console:settings", args=[merchant.public_id])
    page = owner_client.get(url).content.decode()
    assert "Test Café" in page
    response = owner_client.post(
        url,
        {
            "name": "Test Café Two",
            "address": "2 Road",
            "latitude": "",
            "longitude": "",
            "opening_hours": "8-5",
            "time_zone": "Europe/London",
            "currency": "USD",  # ignored: the currency cannot change
        },
    )
    assert response.status_code == 302
    merchant.refresh_from_db()
    assert merchant.name == "Test Café Two"
    assert merchant.currency == "CNY"
    assert merchants.merchant_store(merchant).time_zone == "Europe/London"


def test_settings_refuses_half_a_location(owner_client, merchant):
    url = reverse("console:settings", args=[merchant.public_id])
    response = owner_client.post(url, {"name": "X", "latitude": "1", "time_zone": "Asia/Shanghai"})
    assert "both latitude and longitude" in response.content.decode()
    merchant.refresh_from_db()
    assert merchant.name == "Test Café"


def _advanced(page: str) -> str:
    start = page.index("<details")
    return page[start : page.index("</details>", start) + len("</details>")]


@pytest.mark.parametrize("where", ["new", "settings"])
def test_the_location_is_the_phones_with_coordinates_only_under_advanced(
    owner_client, merchant, where
):
    """The owner is offered "Use this phone's location" (console.js fills the coordinates);
    raw latitude and longitude are typed only under the closed "Advanced" disclosure."""
    if where == "new":
        url = reverse("console:merchant_new")
    else:
        url = reverse("console:settings", args=[merchant.public_id])
    page = owner_client.get(url).content.decode()
    assert "data-locate" in page and "Use this phone’s location" in page
    advanced = _advanced(page)
    assert advanced.startswith('<details class="advanced">')  # closed
    assert "Advanced: latitude and longitude" in advanced
    for name in ("latitude", "longitude"):
        assert page.count(f'name="{name}"') == 1 and f'name="{name}"' in advanced
    assert 'name="address"' in page and 'name="address"' not in advanced


def test_bad_coordinates_open_advanced_and_change_nothing(owner_client, merchant):
    url = reverse("console:settings", args=[merchant.public_id])
    data = {"name": "X", "latitude": "95", "longitude": "10", "time_zone": "Asia/Shanghai"}
    page = owner_client.post(url, data).content.decode()
    assert _advanced(page).startswith('<details class="advanced" open>')
    assert "less than or equal to 90" in _advanced(page)
    merchant.refresh_from_db()
    assert merchant.name == "Test Café"


def test_owner_invites_staff_by_email(owner_client, merchant, django_capture_on_commit_callbacks):
    url = reverse("console:staff", args=[merchant.public_id])
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url, {"email": "Barista@Cafe.test", "role": "staff"})
    assert response.status_code == 302
    invite = merchants.invitations_pending(merchant).get()
    assert invite.email == "barista@cafe.test"
    assert len(mail.outbox) == 1
    assert f"/console/invitations/{invite.public_id}/" in mail.outbox[0].body
    page = owner_client.get(url).content.decode()
    assert "barista@cafe.test" in page
    # already on the team: refused with a message
    response = owner_client.post(url, {"email": "owner@cafe.test", "role": "staff"})
    assert "already on the team" in response.content.decode()
    bad = owner_client.post(url, {"email": "not an email", "role": "boss"})
    assert bad.status_code == 200
    assert merchants.invitations_pending(merchant).count() == 1


def test_owner_removes_staff_but_not_themself(owner_client, merchant, owner, staff_member):
    url = reverse("console:staff_remove", args=[merchant.public_id, owner.public_id])
    owner_client.post(url)
    assert merchants.staff_list(merchant).filter(user=owner).exists()
    url = reverse("console:staff_remove", args=[merchant.public_id, staff_member.public_id])
    assert owner_client.post(url).status_code == 302
    assert not merchants.staff_list(merchant).filter(user=staff_member).exists()


def test_staff_role_gets_404_on_settings_and_staff(client, merchant, staff_member, owner):
    client.force_login(staff_member)
    m = merchant.public_id
    assert client.get(reverse("console:settings", args=[m])).status_code == 404
    assert client.post(reverse("console:settings", args=[m]), {"name": "Hacked"}).status_code == 404
    assert client.get(reverse("console:staff", args=[m])).status_code == 404
    assert (
        client.post(reverse("console:staff", args=[m]), {"email": "x@y.z", "role": "owner"})
    ).status_code == 404
    remove = reverse("console:staff_remove", args=[m, owner.public_id])
    assert client.post(remove).status_code == 404
    # …but runs the board and the menu, and the top bar hides what they cannot open
    page = client.get(reverse("console:board", args=[m]))
    assert page.status_code == 200
    assert reverse("console:settings", args=[m]) not in page.content.decode()
    assert client.get(reverse("console:menu", args=[m])).status_code == 200
    merchant.refresh_from_db()
    assert merchant.name == "Test Café"
