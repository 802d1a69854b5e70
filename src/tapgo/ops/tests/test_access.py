"""Who may use /ops/: operators (User.is_staff); others are sent to log in, or refused."""

import pytest
from django.urls import reverse

from tapgo.messaging.models import Template

PAGES = [
    ("ops:home", []),
    ("ops:templates", []),
    ("ops:template_new", []),
    ("ops:template_edit", ["order_ready"]),
    ("ops:dead_letters", []),
    ("ops:message_log", []),
]
POSTS = [
    ("ops:template_new", []),
    ("ops:template_edit", ["order_ready"]),
    ("ops:dead_letters_retry", []),
]
TEMPLATE_POST = {
    "key": "sneaky",
    "subject": "",
    "field_lines": "",
    "en__name": "x",
    "en__ask": "x",
    "en__title": "x",
    "en__body": "x",
    "zh-hans__name": "x",
    "zh-hans__ask": "x",
    "zh-hans__title": "x",
    "zh-hans__body": "x",
}


@pytest.mark.parametrize(("name", "args"), PAGES + POSTS)
def test_anonymous_is_sent_to_the_console_login_and_back(client, db, name, args):
    url = reverse(name, args=args)
    response = client.get(url) if (name, args) in PAGES else client.post(url, TEMPLATE_POST)
    assert response.status_code == 302
    assert response.url == reverse("console:login") + "?next=" + url
    assert not Template.objects.filter(key="sneaky").exists()


@pytest.mark.parametrize(("name", "args"), PAGES + POSTS)
def test_a_merchant_who_is_not_an_operator_gets_403(owner_client, name, args):
    url = reverse(name, args=args)
    method = owner_client.get if (name, args) in PAGES else owner_client.post
    response = method(url, TEMPLATE_POST)
    assert response.status_code == 403
    assert "Operators only" in response.content.decode()
    assert not Template.objects.filter(key="sneaky").exists()
    assert Template.objects.get(key="order_ready").texts["en"]["name"] == "Order ready for pickup"


def test_logging_in_comes_back_to_ops(client, operator):
    url = reverse("ops:dead_letters")
    login = client.get(url).url
    response = client.post(
        login, {"username": "ops@tapgo.test", "password": "correct horse battery", "next": url}
    )
    assert response.status_code == 302 and response.url == url
    assert client.get(url).status_code == 200


def test_an_operator_sees_every_page(ops_client):
    for name, args in PAGES:
        response = ops_client.get(reverse(name, args=args), follow=True)
        assert response.status_code == 200, name


def test_the_console_home_links_to_ops_only_for_operators(client, owner, operator):
    client.force_login(owner)
    assert 'data-testid="ops-link"' not in client.get(reverse("console:home")).content.decode()
    client.force_login(operator)
    page = client.get(reverse("console:home")).content.decode()
    assert f'href="{reverse("ops:home")}" data-testid="ops-link"' in page


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client
