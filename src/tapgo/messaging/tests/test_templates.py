"""Template texts: what a template may say, what a message's values must be, how values are
shown in each language, changing a template, and the built-in library."""

import copy
import string

import pytest
from django.utils import translation

from tapgo.messaging import services as messaging
from tapgo.messaging import texts
from tapgo.messaging.keys import TemplateKey
from tapgo.messaging.library import BUILTIN
from tapgo.messaging.models import Message, Template
from tapgo.messaging.services import MessagingError
from tapgo.messaging.texts import TemplateTextError, check_template, check_values

FIELDS = [{"name": "who", "type": "text"}, {"name": "total", "type": "money"}]


def make_texts(**en) -> dict:
    """Valid texts in both shipped languages; keyword arguments replace English parts."""
    return {
        "en": {
            "name": "Table ready",
            "ask": "Tell me when my table is ready",
            "title": "Hello {who}",
            "body": "Your table is ready; the deposit was {total}.",
        }
        | en,
        "zh-hans": {
            "name": "餐桌已备好",
            "ask": "餐桌备好时通知我",
            "title": "{who}，您好",
            "body": "您的餐桌已备好，押金 {total}。",
        },
    }


class Spec:
    """A template not saved: render() reads only its `fields` and `texts`."""

    def __init__(self, fields, texts_):
        self.fields, self.texts = fields, texts_


# --- check_template --------------------------------------------------------------------------


def test_a_good_template_comes_back_clean():
    fields, clean = check_template(
        [{"name": " who ", "type": "text"}, {"name": "total", "type": "money"}],
        make_texts(title="  Hello {who}  "),
    )
    assert fields == FIELDS
    assert clean["en"]["title"] == "Hello {who}"
    assert set(clean) == {"en", "zh-hans"}
    assert set(clean["en"]) == {"name", "ask", "title", "body"}


def test_extra_languages_and_parts_are_dropped():
    given = make_texts()
    given["fr"] = {"name": "x", "ask": "x", "title": "x", "body": "x"}
    given["en"]["footer"] = "{anything}"
    _fields, clean = check_template(FIELDS, given)
    assert set(clean) == {"en", "zh-hans"}
    assert "footer" not in clean["en"]


@pytest.mark.parametrize(
    "title",
    [
        "Hello {nobody}",  # not a field
        "Hello {who.__class__}",
        "Hello {who.__class__.__mro__}",
        "Hello {who[0]}",
        "Hello {total[amount]}",
        "Hello {who!r}",
        "Hello {who!s}",
        "Hello {who:>10}",
        "Hello {who:{total}}",
        "Hello {}",
        "Hello {0}",
        "Hello {who",
        "Hello who}",
        "Hello {{who}",
        "Hello {who}}",
        "Hello {who-1}",
    ],
)
def test_a_text_may_only_name_fields(title):
    with pytest.raises(TemplateTextError):
        check_template(FIELDS, make_texts(title=title))


def test_escaped_braces_are_text():
    _fields, clean = check_template(FIELDS, make_texts(title="Hello {{who}} {who}"))
    shown = texts.render(Spec(FIELDS, clean), {"who": "Ann", "total": _money(100)}, "en")
    assert shown[0] == "Hello {who} Ann"


PART_SAID = {"name": "a name", "ask": "a question", "title": "a title", "body": "a text"}


@pytest.mark.parametrize("part", ["name", "ask", "title", "body"])
def test_every_part_in_every_language(part):
    for language, name in (("en", "English"), ("zh-hans", "Simplified Chinese")):
        said = f"Every language needs {PART_SAID[part]} ({name} is missing one)."
        given = make_texts()
        del given[language][part]
        with pytest.raises(TemplateTextError) as refused:
            check_template(FIELDS, given)
        assert str(refused.value) == said
        given[language][part] = "   "
        with pytest.raises(TemplateTextError, match=PART_SAID[part]):
            check_template(FIELDS, given)
        given[language][part] = ["a list"]
        with pytest.raises(TemplateTextError, match=PART_SAID[part]):
            check_template(FIELDS, given)


def test_a_missing_language_is_refused():
    given = make_texts()
    del given["zh-hans"]
    with pytest.raises(TemplateTextError, match="Simplified Chinese is missing one"):
        check_template(FIELDS, given)


def test_messages_name_parts_and_languages_in_the_operators_language_not_by_code():
    given = make_texts()
    del given["zh-hans"]["ask"]
    with translation.override("zh-hans"), pytest.raises(TemplateTextError) as refused:
        check_template(FIELDS, given)
    said = str(refused.value)
    assert "简体中文" in said and "询问语" in said
    assert "zh-hans" not in said and "ask" not in said
    with translation.override("zh-hans"), pytest.raises(TemplateTextError) as refused:
        check_template(FIELDS, make_texts(body="x" * 401))
    assert "正文" in str(refused.value) and "body" not in str(refused.value)
    with translation.override("zh-hans"), pytest.raises(TemplateTextError) as refused:
        check_values(FIELDS, {"who": "Ann", "total": 5})
    assert "金额" in str(refused.value) and "money" not in str(refused.value)


@pytest.mark.parametrize(
    ("title", "written", "name"),
    [
        ("Hello {who!r}", "{who!r}", "who"),
        ("Hello {who!s}", "{who!s}", "who"),
        ("Hello {who:>10}", "{who:>10}", "who"),
        ("Hello {total!a:^9}", "{total!a:^9}", "total"),
    ],
)
def test_a_conversion_or_format_is_refused_as_such(title, written, name):
    with pytest.raises(TemplateTextError) as refused:
        check_template(FIELDS, make_texts(title=title))
    assert str(refused.value) == (
        f"“{written}”: a field is written as {{{name}}}, without a conversion (!) or a format (:)."
    )


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("text", "a text value"),
        ("money", "a money value"),
        ("datetime", "a date and time value"),
        ("number", "a whole number value"),
    ],
)
def test_a_wrong_value_names_the_type_in_words(kind, said):
    with pytest.raises(TemplateTextError) as refused:
        check_values([{"name": "x", "type": kind}], {"x": [1]})
    assert str(refused.value) == f"The field x needs {said}."


@pytest.mark.parametrize("part,limit", list(texts.MAX_TEXT.items()))
def test_parts_have_a_length_limit(part, limit):
    check_template(FIELDS, make_texts(**{part: "x" * limit}))
    with pytest.raises(TemplateTextError, match=str(limit)):
        check_template(FIELDS, make_texts(**{part: "x" * (limit + 1)}))


@pytest.mark.parametrize(
    "fields",
    [
        [{"name": "who", "type": "text"}, {"name": "who", "type": "money"}],  # twice
        [{"name": "who", "type": "text"}, {"name": " who", "type": "text"}],
        [{"name": "who", "type": "bool"}, {"name": "total", "type": "money"}],
        [{"name": "who", "type": None}, {"name": "total", "type": "money"}],
        [{"name": "who"}, {"name": "total", "type": "money"}],
        [{"name": "2who", "type": "text"}],
        [{"name": "who am", "type": "text"}],
        [{"name": "", "type": "text"}],
        [{"name": None, "type": "text"}],
        [{"name": ["who"], "type": "text"}],
        [{"name": "w" * 31, "type": "text"}],
        ["who"],
        [None],
        [["who", "text"]],
        {"who": "text"},
        "who",
        None,
    ],
)
def test_fields_that_are_refused(fields):
    with pytest.raises(TemplateTextError):
        check_template(fields, make_texts())


@pytest.mark.parametrize("given", [None, [], "texts", {"en": "Hello", "zh-hans": "你好"}])
def test_texts_that_are_refused(given):
    with pytest.raises(TemplateTextError):
        check_template(FIELDS, given)


# --- check_values ----------------------------------------------------------------------------

TYPED = [
    {"name": "name", "type": "text"},
    {"name": "count", "type": "number"},
    {"name": "total", "type": "money"},
    {"name": "at", "type": "datetime"},
]


def _money(amount, currency="CNY"):
    return {"amount": amount, "currency": currency}


def good_values(**over):
    return {
        "name": "Ann",
        "count": 3,
        "total": _money(2600),
        "at": "2026-03-05T14:30:00+08:00",
    } | over


def test_good_values_pass():
    assert check_values(TYPED, good_values()) == good_values()
    assert check_values(TYPED, good_values(count=-2, total=_money(0, "usd"), name=""))
    assert check_values(TYPED, good_values(name="x" * texts.MAX_VALUE))
    assert check_values(TYPED, good_values(at="2026-03-05T06:30:00Z"))
    assert check_values([], {}) == {}


@pytest.mark.parametrize(
    "values",
    [
        {"name": "Ann", "count": 3, "total": _money(2600)},  # `at` missing
        good_values(extra="x"),
        good_values(**{"1": "x"}),
        {**good_values(), 1: "x"},  # a key that is not text
        good_values(name=None),
        good_values(name=5),
        good_values(name="x" * (texts.MAX_VALUE + 1)),
        good_values(count=True),  # a bool is not a number
        good_values(count=False),
        good_values(count=1.5),
        good_values(count="3"),
        good_values(count=10**20),
        good_values(total=2600),
        good_values(total={"amount": 2600}),  # no currency
        good_values(total={"currency": "CNY"}),
        good_values(total=_money(26.0)),
        good_values(total=_money("2600")),
        good_values(total=_money(True)),
        good_values(total=_money(10**20)),
        good_values(total=_money(2600, "CN")),
        good_values(total=_money(2600, "C1Y")),
        good_values(total=_money(2600, None)),
        good_values(total=_money(2600) | {"note": "x"}),
        good_values(at="2026-03-05T14:30:00"),  # naive
        good_values(at="2026-03-05"),
        good_values(at="tomorrow"),
        good_values(at=1772692200),
        good_values(at=None),
    ],
)
def test_values_that_are_refused(values):
    with pytest.raises(TemplateTextError):
        check_values(TYPED, values)


@pytest.mark.parametrize("values", [None, [], "name=Ann", [("name", "Ann")]])
def test_values_that_are_not_a_mapping(values):
    with pytest.raises(TemplateTextError):
        check_values(TYPED, values)


def test_notify_refuses_bad_values_and_notify_quietly_swallows_them(customer, app):
    messaging.consent_give(customer=customer, app=app, key=TemplateKey.NEW_ARTICLE, standing=True)
    bad = dict(customer=customer, app=app, key=TemplateKey.NEW_ARTICLE, link=f"/m/{app.slug}/")
    with pytest.raises(TemplateTextError):
        messaging.notify(values={"app": app.name}, **bad)
    assert messaging.notify_quietly(values={"app": app.name, "title": 5}, **bad) is None
    assert not messaging.inbox_of(customer).exists()


# --- rendering -------------------------------------------------------------------------------


def _order_paid() -> Template:
    return Template.objects.get(key=TemplateKey.ORDER_PAID)


def _booking() -> Template:
    return Template.objects.get(key=TemplateKey.BOOKING_CONFIRMED)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "language,money,body",
    [
        ("en", _money(2600), "Test Café received CN¥26.00 for order A001."),
        ("en", _money(-150, "usd"), "Test Café received -$1.50 for order A001."),
        ("en", _money(1999, "JPY"), "Test Café received ¥1,999 for order A001."),
        ("zh-hans", _money(2600), "Test Café 已收到订单 A001 的付款 ¥26.00。"),
        ("zh-hans", _money(1999, "JPY"), "Test Café 已收到订单 A001 的付款 JP¥1,999。"),
        ("zh-hans", _money(1999, "USD"), "Test Café 已收到订单 A001 的付款 US$19.99。"),
    ],
)
def test_money_is_shown_in_the_language(language, money, body):
    values = {"order": "A001", "app": "Test Café", "total": money}
    title, shown = texts.render(_order_paid(), values, language)
    assert shown == body
    assert title == {"en": "Payment received", "zh-hans": "付款成功"}[language]


@pytest.mark.django_db
def test_a_time_is_shown_in_the_language_at_its_own_offset():
    values = {"app": "Salon", "service": "Haircut", "starts": "2026-03-05T14:30:00+08:00"}
    assert texts.render(_booking(), values, "en")[1] == (
        "Salon confirmed your booking: Haircut, Mar 5, 2026, 2:30:00\u202fPM."
    )
    assert texts.render(_booking(), values, "zh-hans")[1] == (
        "Salon 已确认您的预约：Haircut，2026年3月5日 14:30:00。"
    )
    utc = values | {"starts": "2026-03-05T06:30:00+00:00"}
    assert "6:30:00\u202fAM" in texts.render(_booking(), utc, "en")[1]


@pytest.mark.django_db
def test_an_unknown_language_falls_back_to_the_default():
    values = {"order": "A001", "app": "Test Café", "total": _money(2600)}
    for language in ("fr", "", None, "ZH-HANS"):
        title, body = texts.render(_order_paid(), values, language)
        assert (title, body) == ("Payment received", "Test Café received CN¥26.00 for order A001.")


@pytest.mark.django_db
def test_values_are_shown_as_given_never_interpreted():
    values = {"order": "{app.__class__}", "app": "{order}", "total": _money(1)}
    _title, body = texts.render(_order_paid(), values, "en")
    assert body == "{order} received CN¥0.01 for order {app.__class__}."


# --- changing a template ---------------------------------------------------------------------


def test_an_operator_adds_a_template(db):
    template = messaging.template_save(
        key=" Table_Ready ", fields=FIELDS, texts=make_texts(), subject="order", standing=True
    )
    assert template.key == "table_ready"
    assert (template.fields, template.standing, template.active) == (FIELDS, True, True)
    assert template.texts["zh-hans"]["title"] == "{who}，您好"


@pytest.mark.parametrize(
    "key",
    [
        "",
        "   ",
        "has space",
        "a/b",
        "k" * 41,
        "a" * 41,
        "dots.are.out",
        # A key is part of URLs (the ops console's, the console's switches): ASCII only.
        "ключ",
        "拿铁",
        "café",
        "latte_拿铁",
        "-x",
        "_x",
        "a\nb",
    ],
)
def test_a_template_key_must_be_a_short_word(db, key):
    with pytest.raises(MessagingError, match="A key is a short word of letters, digits"):
        messaging.template_save(key=key, fields=FIELDS, texts=make_texts())
    assert not Template.objects.filter(fields=FIELDS).exists()


@pytest.mark.parametrize("key", ["a" * 40, "x-1", "9lives", "order_ready_2"])
def test_a_template_key_of_ascii_letters_digits_dash_and_underscore_is_taken(db, key):
    assert messaging.template_save(key=key, fields=FIELDS, texts=make_texts()).key == key


def test_a_taken_key_or_an_unknown_subject_is_refused(db):
    with pytest.raises(MessagingError, match="already"):
        messaging.template_save(key=TemplateKey.ORDER_PAID, fields=FIELDS, texts=make_texts())
    with pytest.raises(MessagingError):
        messaging.template_save(key="new_one", fields=FIELDS, texts=make_texts(), subject="fish")
    with pytest.raises(TemplateTextError):
        messaging.template_save(key="new_one", fields=FIELDS, texts=make_texts(title="{x}"))
    assert not Template.objects.filter(key="new_one").exists()


def test_a_template_with_sent_messages_keeps_its_fields(customer, app):
    template = Template.objects.get(key=TemplateKey.NEW_ARTICLE)
    fields, original = copy.deepcopy(template.fields), copy.deepcopy(template.texts)
    messaging.consent_give(customer=customer, app=app, key=TemplateKey.NEW_ARTICLE, standing=True)
    messaging.notify(
        customer=customer,
        app=app,
        key=TemplateKey.NEW_ARTICLE,
        values={"app": app.name, "title": "Spring menu"},
        link=f"/m/{app.slug}/",
    )
    changed = fields + [{"name": "extra", "type": "text"}]
    with pytest.raises(MessagingError, match="fields stay"):
        messaging.template_save(
            key="ignored", fields=changed, texts=original, subject="article", template=template
        )
    template.refresh_from_db()
    assert template.fields == fields

    # The texts may change; the key stays.
    reworded = copy.deepcopy(original)
    reworded["en"]["title"] = "Fresh from {app}"
    saved = messaging.template_save(
        key="renamed",
        fields=fields,
        texts=reworded,
        subject="article",
        template=template,
        standing=True,
        default_on=True,
    )
    assert saved.key == "new_article"
    assert saved.texts["en"]["title"] == "Fresh from {app}"
    message = Message.objects.get(customer=customer)
    assert messaging.message_text(message, "en")[0] == "Fresh from Test Café"


def test_a_template_without_messages_may_change_its_fields(db):
    template = messaging.template_save(key="table_ready", fields=FIELDS, texts=make_texts())
    fewer = [{"name": "who", "type": "text"}]
    reworded = make_texts(body="Your table is ready.")
    reworded["zh-hans"]["body"] = "您的餐桌已备好。"
    with pytest.raises(TemplateTextError, match="total"):  # a text still names the old field
        messaging.template_save(
            key="", fields=fewer, texts=make_texts(body="Ready."), template=template
        )
    saved = messaging.template_save(key="", fields=fewer, texts=reworded, template=template)
    assert saved.fields == fewer
    template.refresh_from_db()
    assert template.texts["zh-hans"]["body"] == "您的餐桌已备好。"


# --- the built-in library --------------------------------------------------------------------

SAMPLES = {
    "text": "Café «Ann» {x}",
    "number": 12,
    "money": _money(2600),
    "datetime": "2026-03-05T14:30:00+08:00",
}


def test_the_code_names_every_builtin_template_by_its_key():
    assert {spec["key"] for spec in BUILTIN} == set(TemplateKey)


@pytest.mark.parametrize("spec", BUILTIN, ids=[spec["key"] for spec in BUILTIN])
def test_every_builtin_template_is_valid_and_renders(db, spec):
    fields, clean = check_template(spec["fields"], spec["texts"])
    assert fields == spec["fields"] and clean == spec["texts"]  # already clean
    assert spec["subject"] in Template.Subject.values
    installed = Template.objects.get(key=spec["key"])  # by the migration
    assert (installed.fields, installed.texts) == (spec["fields"], spec["texts"])
    assert (installed.standing, installed.default_on) == (spec["standing"], spec["default_on"])

    values = check_values(fields, {f["name"]: SAMPLES[f["type"]] for f in fields})
    for language in ("en", "zh-hans"):
        title, body = texts.render(installed, values, language)
        parts = clean[language]
        for part in ("name", "ask"):  # shown as they are, so they name no field
            assert not [n for _l, n, _s, _c in string.Formatter().parse(parts[part]) if n]
        rendered = title + body
        kinds = {f["type"] for f in fields}
        assert "{" not in rendered.replace("{x}", "")
        assert ("Café «Ann» {x}" in rendered) == ("text" in kinds)
        assert ("¥26.00" in rendered) == ("money" in kinds)
        assert ("12" in rendered) == ("number" in kinds)
        when = {"en": "Mar 5, 2026, 2:30:00\u202fPM", "zh-hans": "2026年3月5日 14:30:00"}
        assert (when[language] in rendered) == ("datetime" in kinds)
        assert title and body
