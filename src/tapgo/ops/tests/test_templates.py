"""The ops console's template library: the list, adding and editing; bad input changes nothing."""

import re

import pytest
from django.urls import reverse

from tapgo.identity.services import customer_create_guest
from tapgo.messaging import services as messaging
from tapgo.messaging.library import BUILTIN
from tapgo.messaging.models import Template

NEW = reverse("ops:template_new")


def edit_url(key):
    return reverse("ops:template_edit", args=[key])


def texts(**overrides) -> dict:
    data = {
        "en__name": "Table call",
        "en__ask": "Tell me when my table is ready",
        "en__title": "Your table is ready",
        "en__body": "Table {table} is ready; you waited {wait} minutes.",
        "zh-hans__name": "叫号",
        "zh-hans__ask": "座位准备好时通知我",
        "zh-hans__title": "您的座位已准备好",
        "zh-hans__body": "{table} 号桌已准备好，您等了 {wait} 分钟。",
    }
    data.update(overrides)
    return data


def good(**overrides) -> dict:
    data = {
        "key": "table_call",
        "subject": "",
        "field_lines": "table text\r\nwait number\r\n",
        "standing": "on",
        "active": "on",
        **texts(),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def as_shown(existing: str, /, **overrides) -> dict:
    """What the edit form posts back unchanged, with some boxes changed."""
    from tapgo.ops.forms import TemplateForm

    data = TemplateForm.initial_for(Template.objects.get(key=existing))
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def snapshot():
    return sorted(
        Template.objects.values_list(
            "key", "subject", "fields", "texts", "standing", "default_on", "active"
        )
    )


def form_error(page: str) -> str:
    found = re.search(r'data-testid="form-error"><li>(.*?)</li>', page, re.S)
    return found.group(1) if found else ""


def test_the_list_shows_every_template_and_how_many_apps_use_it(ops_client, app, other_merchant):
    Template.objects.filter(key="coupon_expiring").update(active=False)
    page = ops_client.get(reverse("ops:templates")).content.decode()
    rows = dict(re.findall(r'data-key="([^"]+)">.*?data-testid="apps">(\d+)<', page, re.S))
    assert set(rows) == {spec["key"] for spec in BUILTIN}  # withdrawn ones too
    assert rows["order_ready"] == "2"  # on by default: the café's app and the bakery's
    assert rows["booking_confirmed"] == "0"
    assert "Order ready for pickup" in page and "A booking" in page
    assert "withdrawn" in page


def test_adding_a_template(ops_client, app):
    response = ops_client.post(NEW, good())
    assert response.status_code == 302 and response.url == reverse("ops:templates")
    template = Template.objects.get(key="table_call")
    assert template.fields == [
        {"name": "table", "type": "text"},
        {"name": "wait", "type": "number"},
    ]
    assert template.texts["zh-hans"]["name"] == "叫号"
    assert (template.standing, template.default_on, template.active) == (True, False, True)
    page = ops_client.get(response.url).content.decode()
    assert "Template “table_call” added." in page and 'data-key="table_call"' in page
    # A merchant can now switch it on, and a message renders in both languages.
    messaging.app_template_switch(app=app, template=template, on=True)
    customer = customer_create_guest()
    messaging.consent_give(customer=customer, app=app, key="table_call", standing=True)
    message = messaging.notify(
        customer=customer,
        app=app,
        key="table_call",
        values={"table": "7", "wait": 12},
        link=f"/m/{app.slug}/",
    )
    assert messaging.message_text(message, "en")[1] == "Table 7 is ready; you waited 12 minutes."


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"key": ""}, "This field is required."),
        ({"key": "<script>alert(1)</script>"}, "A key is a short word of letters, digits"),
        ({"key": "order ready"}, "A key is a short word of letters, digits"),
        ({"key": "ключ"}, "A key is a short word of letters, digits"),
        ({"key": "拿铁"}, "A key is a short word of letters, digits"),
        ({"key": "-x"}, "A key is a short word of letters, digits"),
        ({"key": "order_ready"}, "There is already a template called “order_ready”."),
        ({"key": "ORDER_READY"}, "There is already a template called “order_ready”."),
        ({"key": "k" * 41}, "Ensure this value has at most 40 characters"),
        ({"subject": "evil"}, "Select a valid choice."),
        ({"field_lines": "table text extra"}, "Line 1: write a field as its name and its type"),
        ({"field_lines": "table\nwait number"}, "Line 1: write a field as its name and its type"),
        ({"field_lines": "table pickle\nwait number"}, "A field&#x27;s type is one of: text"),
        ({"field_lines": "9lives text\nwait number"}, "A field&#x27;s name is a word of"),
        ({"field_lines": "table text\ntable text\nwait number"}, "Two fields are called"),
        (
            {"field_lines": "\n".join(f"f{n} text" for n in range(31))},
            "At most 30 fields a template.",
        ),
        ({"field_lines": "x text\n" * 200}, "Ensure this value has at most 1000 characters"),
        (
            {"zh-hans__title": ""},
            "Every language needs a title (Simplified Chinese is missing one).",
        ),
        (
            {"zh-hans__title": None},
            "Every language needs a title (Simplified Chinese is missing one).",
        ),
        ({"en__ask": ""}, "Every language needs a question (English is missing one)."),
        ({"en__body": "Hi {nobody}"}, "The text names {nobody}, which is not one of the fields."),
        ({"en__body": "Hi {table.__class__}"}, "is not a field: write a field"),
        ({"en__body": "Hi {0}"}, "is not a field: write a field"),
        (
            {"en__body": "Hi {table!r}"},
            "“{table!r}”: a field is written as {table}, without a conversion (!) or a format",
        ),
        (
            {"en__body": "Hi {table:>999999}"},
            "“{table:&gt;999999}”: a field is written as {table}, without a conversion (!)",
        ),
        ({"en__body": "Hi {table"}, "A text has an unmatched"),
        ({"en__title": "x" * 81}, "A title is at most 80 characters."),
        ({"en__body": "x" * 1001}, "Ensure this value has at most 1000 characters"),
    ],
)
def test_bad_input_says_why_and_adds_nothing(ops_client, overrides, message):
    before = snapshot()
    response = ops_client.post(NEW, good(**overrides))
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert "<script>alert(1)</script>" not in page  # what was typed comes back escaped
    assert snapshot() == before


def test_the_service_s_message_shows_as_the_form_s_error(ops_client):
    page = ops_client.post(NEW, good(**{"en__body": "Hi {nobody}"})).content.decode()
    assert form_error(page) == "The text names {nobody}, which is not one of the fields."
    assert 'value="table_call"' in page  # the form keeps what was typed


@pytest.mark.parametrize("key", ["ключ", "拿铁", "latte拿铁", "-x", "_x"])
def test_a_key_that_is_not_ascii_letters_digits_dash_underscore_is_refused(ops_client, key):
    before = snapshot()
    response = ops_client.post(NEW, good(key=key))
    assert response.status_code == 200
    page = response.content.decode()
    assert form_error(page) == "A key is a short word of letters, digits, - and _."
    assert f'value="{key}"' in page  # kept as typed, to correct
    assert snapshot() == before


def test_editing_a_template(ops_client, app):
    template = Template.objects.get(key="order_ready")
    page = ops_client.get(edit_url("order_ready")).content.decode()
    assert "order text\napp text" in page  # the fields, one a line
    assert 'value="Your order is ready"' in page and "您的订单已做好" in page
    assert 'name="key"' not in page  # the key stays

    data = as_shown(
        "order_ready",
        key="renamed",
        standing="on",
        active=None,  # withdraw it
        **{"en__title": "Ready now", "en__body": "Come to {app} for {order}."},
    )
    response = ops_client.post(edit_url("order_ready"), data)

    assert response.status_code == 302
    template.refresh_from_db()
    assert template.key == "order_ready" and not Template.objects.filter(key="renamed").exists()
    assert template.texts["en"]["title"] == "Ready now"
    assert (template.standing, template.active) == (True, False)
    assert "Template “order_ready” saved." in ops_client.get(response.url).content.decode()


def _with_a_message(app):
    customer = customer_create_guest()
    messaging.consent_give(customer=customer, app=app, key="order_ready")
    messaging.notify(
        customer=customer,
        app=app,
        key="order_ready",
        values={"order": "A1", "app": app.name},
        link=f"/m/{app.slug}/",
    )


def test_fields_of_a_template_with_messages_stay(ops_client, app):
    _with_a_message(app)
    before = snapshot()
    data = as_shown("order_ready", field_lines="order text\napp text\nextra text")
    response = ops_client.post(edit_url("order_ready"), data)
    assert response.status_code == 200
    assert form_error(response.content.decode()) == (
        "Messages were sent with this template: its fields stay."
    )
    assert snapshot() == before


@pytest.mark.parametrize(
    "overrides",
    [
        {"en__body": "Come {nobody}"},
        {"field_lines": "order pickle"},
        {"zh-hans__name": ""},
        {"subject": "<b>"},
    ],
)
def test_a_bad_edit_changes_nothing(ops_client, overrides):
    before = snapshot()
    assert ops_client.post(edit_url("order_ready"), as_shown("order_ready")).status_code == 302
    assert snapshot() == before  # posted back unchanged, it saves the same
    data = as_shown("order_ready", **overrides)
    response = ops_client.post(edit_url("order_ready"), data)
    assert response.status_code == 200
    assert snapshot() == before


@pytest.mark.parametrize("key", ["no_such_template", "k" * 41])
def test_an_unknown_template_is_404(ops_client, key):
    assert ops_client.get(edit_url(key)).status_code == 404
    assert ops_client.post(edit_url(key), good()).status_code == 404
