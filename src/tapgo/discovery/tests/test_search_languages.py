"""Search finds a product by any language's name, and through one typo.

Before: a product had one name, so "拿铁" did not find "Latte" whose Chinese name is 拿铁,
"面包" found no bread, and "croisant" found nothing. The same file runs on SQLite (FTS5) and
on PostgreSQL (tsvector):
    uv run pytest -q src/tapgo/discovery/tests/test_search_languages.py
    TAPGO_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test uv run pytest -q ...
"""

import threading

import pytest
from django.db import connection
from django.urls import reverse

from tapgo.catalog import services as catalog
from tapgo.discovery import search
from tapgo.discovery.search import lexicon
from tapgo.discovery.search.terms import query_leaves
from tapgo.flows import listings
from tapgo.identity.services import staff_user_create
from tapgo.merchants import services as merchants

MENU = [
    ("Latte", "拿铁", "Espresso and steamed milk", "浓缩咖啡和蒸汽牛奶"),
    ("Croissant", "牛角面包", "Butter, baked every morning", "黄油酥皮，每天早上现烤"),
    ("Cheesecake", "芝士蛋糕", "", ""),
    ("Sourdough", "", "", ""),
]


@pytest.fixture
def cafe(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        owner = staff_user_create(email="owner@lang.test", password="correct horse battery")
        merchant = merchants.merchant_create(owner=owner, name="Harbour Café", language="en")
        app = listings.app_create(
            merchant=merchant,
            name="Harbour Café",
            slug="harbour-lang",
            description="Coffee by the water.",
            translations={"zh-hans": {"name": "港湾咖啡", "description": "海边的咖啡。"}},
        )
        listings.app_set_published(app=app, published=True)
        category = catalog.category_create(
            merchant=merchant, name="Menu", translations={"zh-hans": {"name": "菜单"}}
        )
        for name, zh, description, zh_description in MENU:
            texts = {"zh-hans": {"name": zh, "description": zh_description}} if zh else None
            listings.product_create(
                merchant=merchant,
                category=category,
                name=name,
                price=1800,
                description=description,
                translations=texts,
            )
    return app


def titles(query: str, **kwargs) -> list[str]:
    return [h.title for h in search.search(query, kinds=["product"], **kwargs)]


def test_a_chinese_name_finds_the_product(cafe):
    assert titles("拿铁") == ["Latte"]


def test_a_word_inside_a_chinese_name_finds_the_product(cafe):
    assert titles("面包") == ["Croissant"]


def test_a_chinese_description_is_searched_too(cafe):
    assert "Croissant" in titles("酥皮")


def test_one_typo_in_a_long_latin_word_is_forgiven(cafe):
    assert titles("croisant") == ["Croissant"]  # a letter missing
    assert titles("croissamt") == ["Croissant"]  # a letter wrong
    assert titles("chesecake") == ["Cheesecake"]
    assert titles("sourodugh") == ["Sourdough"]  # two letters swapped: one typo
    assert titles("suordoguh") == []  # two swaps: two typos
    assert titles("crosant") == []  # two letters missing


def test_short_words_are_not_corrected(cafe):
    # "lattw" is five letters: corrected; "latx" is four: only a prefix, which finds nothing.
    assert titles("lattw") == ["Latte"]
    assert titles("latx") == []


def test_a_typo_beside_a_right_word_still_finds(cafe):
    assert titles("butter croisant") == ["Croissant"]


def test_hits_show_the_customers_language(cafe):
    hit = search.search("拿铁", kinds=["product"])[0]
    shown = hit.shown("zh-hans")
    assert (shown.title, shown.summary, shown.app_name) == (
        "拿铁",
        "浓缩咖啡和蒸汽牛奶",
        "港湾咖啡",
    )
    shown = hit.shown("en")
    assert (shown.title, shown.app_name) == ("Latte", "Harbour Café")
    sourdough = search.search("sourdough", kinds=["product"])[0].shown("zh-hans")
    assert sourdough.title == "Sourdough"  # no Chinese name: the default one


def test_the_app_is_found_by_its_chinese_name(cafe):
    hits = search.search("港湾咖啡", kinds=["app"])
    assert [h.app_slug for h in hits] == ["harbour-lang"]
    assert hits[0].shown("zh-hans").title == "港湾咖啡"


def test_the_search_page_shows_chinese_to_a_chinese_customer(client, cafe):
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    html = client.get(reverse("shell:search"), {"q": "拿铁"}).text
    assert "拿铁" in html and "港湾咖啡" in html


def test_corrections_are_never_syntax(cafe):
    leaves = query_leaves('croisant" OR * NEAR(')
    assert leaves and all(t.isalnum() for leaf in leaves for t in leaf.terms())
    assert search.search('croisant" OR *', kinds=["product"])  # no error, the croissant


def test_the_vocabulary_under_many_threads():
    """Learning and correcting from many threads at once: no error, every word learnt."""
    errors = []

    def word(n: int, i: int) -> str:  # letters only, as the vocabulary keeps
        return "thread" + chr(97 + n) + "".join(chr(97 + int(d)) for d in str(i))

    def work(n: int) -> None:
        try:
            for i in range(200):
                lexicon.dictionary.learn_terms([f"{word(n, i)} croissant"])
                lexicon.dictionary.corrections("croisant")
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert word(3, 19) in lexicon.dictionary.corrections(word(3, 19) + "q")
    assert "croissant" in lexicon.dictionary.corrections("croisant")


def test_one_edit_apart():
    one = lexicon.one_edit_apart
    assert one("croisant", "croissant") and one("croissant", "croisant")
    assert one("latte", "latter") and one("latte", "lattw") and one("latte", "latet")
    assert not one("latte", "latte") and not one("latte", "ltate" + "x")
    assert not one("crosant", "croissant")


def test_both_back_ends_run_this_file():
    assert connection.vendor in {"sqlite", "postgresql"}
