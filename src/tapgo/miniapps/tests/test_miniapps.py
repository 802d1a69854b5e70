"""Mini apps, entry codes and visits: validation, what a scan may open, tenancy."""

import pytest
from django.http import Http404

from tapgo.core.scenes import Scene
from tapgo.flows import listings
from tapgo.identity.services import customer_create_guest
from tapgo.merchants.models import Merchant
from tapgo.miniapps import services
from tapgo.miniapps.models import EntryCode, MiniApp, Visit
from tapgo.miniapps.services import MiniAppError
from tapgo.miniapps.tests.scans import opens


def create(merchant, **kwargs):
    return listings.app_create(merchant=merchant, **{"name": "Shop", "slug": "shop", **kwargs})


def test_create_makes_a_draft_with_a_store_code(merchant):
    app = create(merchant, name=" Shop ", slug=" Shop-1 ", brand_color="#ABCDEF")
    assert (app.name, app.slug, app.brand_color) == ("Shop", "shop-1", "#abcdef")
    assert app.status == MiniApp.Status.DRAFT
    assert not app.is_published
    assert [c.kind for c in services.codes_of(app)] == [EntryCode.Kind.STORE]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": ""},
        {"name": "   "},
        {"slug": ""},
        {"slug": "ab"},  # too short
        {"slug": "a" * 41},
        {"slug": "-shop"},
        {"slug": "shop-"},
        {"slug": "my shop"},
        {"slug": "shop_1"},
        {"slug": "café"},
        {"slug": "../x"},
        {"slug": "console"},  # reserved
        {"slug": "api"},
        {"brand_color": "red"},
        {"brand_color": "#12345"},
        {"brand_color": "#1234567"},
        {"brand_color": "#12345g"},
        {"brand_color": "0f766e"},
        {"template": "game"},
    ],
)
def test_bad_app_input_is_refused_and_changes_nothing(merchant, kwargs):
    with pytest.raises(MiniAppError):
        create(merchant, **kwargs)
    assert not MiniApp.objects.exists()
    assert not EntryCode.objects.exists()


def test_a_taken_slug_is_refused(merchant, app, other_merchant):
    with pytest.raises(MiniAppError, match="taken"):
        create(merchant, slug="test-cafe")
    with pytest.raises(MiniAppError, match="taken"):
        create(other_merchant, slug="TEST-CAFE")
    assert MiniApp.objects.filter(slug="test-cafe").count() == 1

    mine = create(merchant, slug="second")
    with pytest.raises(MiniAppError, match="taken"):
        listings.app_update(
            app=mine, name="Second", slug="bakery", description="", brand_color="#000000"
        )
    assert MiniApp.objects.get(pk=mine.pk).slug == "second"


def test_update(app):
    listings.app_update(
        app=app, name=" New ", slug="new-slug", description=" hi ", brand_color="#FFFFFF"
    )
    assert (app.name, app.slug, app.description, app.brand_color) == (
        "New",
        "new-slug",
        "hi",
        "#ffffff",
    )
    with pytest.raises(MiniAppError):
        listings.app_update(app=app, name="", slug="new-slug", description="", brand_color="#fff")
    assert MiniApp.objects.get(pk=app.pk).name == "New"


# --- tables -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("1-3", ["1", "2", "3"]),
        (" 1 - 3 ", ["1", "2", "3"]),
        ("5-5", ["5"]),
        ("Patio, Bar", ["Patio", "Bar"]),
        ("1-2, Bar, 10-11", ["1", "2", "Bar", "10", "11"]),
        ("7", ["7"]),
        ("", []),
        (" , ,", []),
        ("1-500", [str(n) for n in range(1, 501)]),
        ("A-3", ["A-3"]),  # not a range of numbers: a name
    ],
)
def test_parse_table_range(text, labels):
    assert services.parse_table_range(text) == labels


@pytest.mark.parametrize("text", ["3-1", "1-501", "0-9999"])
def test_a_bad_table_range_is_refused(text):
    with pytest.raises(MiniAppError):
        services.parse_table_range(text)


def test_table_codes_keep_existing_ones(app):
    before = {c.table_label: c.code for c in app.codes.filter(kind="table")}
    services.table_codes_create(app=app, labels=["2", "3", "4", "4", " "])
    after = {c.table_label: c.code for c in app.codes.filter(kind="table")}
    assert set(after) == {"1", "2", "3", "4"}
    assert all(after[label] == code for label, code in before.items())


@pytest.mark.parametrize("labels", [[], ["", "  "], ["x" * 41]])
def test_bad_table_labels_are_refused(app, labels):
    count = EntryCode.objects.count()
    with pytest.raises(MiniAppError):
        services.table_codes_create(app=app, labels=labels)
    assert EntryCode.objects.count() == count


def test_at_most_500_tables(app):
    services.table_codes_create(app=app, labels=services.parse_table_range("4-500"))
    assert app.codes.filter(kind="table").count() == 500
    with pytest.raises(MiniAppError):
        services.table_codes_create(app=app, labels=["501"])
    assert app.codes.filter(kind="table").count() == 500


# --- what a scan opens --------------------------------------------------------------------


def test_a_scan_opens_enabled_codes_of_live_apps_only(app, merchant):
    entry = app.codes.get(kind="table", table_label="1")
    assert opens(entry.code) == entry
    assert opens("nosuchcode") is None
    assert opens("") is None

    services.code_set_enabled(entry=entry, enabled=False)
    assert opens(entry.code) is None
    services.code_set_enabled(entry=entry, enabled=True)
    assert opens(entry.code) == entry

    listings.app_set_published(app=app, published=False)
    assert opens(entry.code) is None
    with pytest.raises(Http404):
        services.live_app(app.slug)
    listings.app_set_published(app=app, published=True)
    assert services.live_app(app.slug) == app

    Merchant.objects.filter(pk=merchant.pk).update(is_active=False)
    assert opens(entry.code) is None
    with pytest.raises(Http404):
        services.live_app(app.slug)


def test_code_images(app):
    entry = app.codes.get(kind="store")
    assert services.code_url(entry).endswith(f"/s/{entry.code}")
    assert services.code_svg(entry).lstrip().startswith(b"<svg")
    assert services.code_png(entry).startswith(b"\x89PNG")


# --- tenancy ------------------------------------------------------------------------------


def test_access_helpers_answer_404_for_another_merchants_ids(merchant, app, other_merchant):
    bakery = MiniApp.objects.get(slug="bakery")
    bakery_code = bakery.codes.first()
    assert services.access_app(merchant=merchant, app_public_id=app.public_id) == app
    with pytest.raises(Http404):
        services.access_app(merchant=merchant, app_public_id=bakery.public_id)
    with pytest.raises(Http404):
        services.access_app(merchant=other_merchant, app_public_id=app.public_id)
    mine = app.codes.first()
    assert services.access_code(merchant=merchant, code=mine.code) == mine
    with pytest.raises(Http404):
        services.access_code(merchant=merchant, code=bakery_code.code)
    assert list(services.apps_of(merchant)) == [app]


# --- visits -------------------------------------------------------------------------------


def test_visits_and_recently_used(app, other_merchant):
    customer = customer_create_guest()
    bakery = MiniApp.objects.get(slug="bakery")
    table = app.codes.get(table_label="2")
    visit = services.visit_record(app=app, customer=customer, scene=Scene.SCAN, code=table)
    assert (visit.scene, visit.table_label, visit.merchant_id) == ("scan", "2", app.merchant_id)
    assert services.visit_record(app=app, customer=customer, scene="bogus").scene == "direct"
    services.visit_record(app=bakery, customer=customer, scene=Scene.SHARE)

    from tapgo.discovery.services import recently_used  # discovery owns the list

    assert recently_used(customer) == [bakery, app]
    assert recently_used(None) == []
    listings.app_set_published(app=bakery, published=False)
    assert recently_used(customer) == [app]

    account = customer_create_guest()
    services.visits_move(source=customer, target=account)
    assert Visit.objects.filter(customer=account).count() == 3


def test_table_names_split_on_chinese_commas_too():
    from tapgo.miniapps.services import parse_table_range

    assert parse_table_range("露台，吧台、包间, 1～3") == ["露台", "吧台", "包间", "1", "2", "3"]
