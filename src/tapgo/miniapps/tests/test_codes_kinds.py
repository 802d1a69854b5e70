"""Entry codes of every kind: the rules for making them, what a scan resolves to, and the
QR images in their sizes."""

import io
from datetime import timedelta

import pytest
import zxingcpp
from django.utils import timezone
from PIL import Image

from tapgo.catalog.services import products_of
from tapgo.flows import listings
from tapgo.merchants.models import Merchant
from tapgo.miniapps import live, services
from tapgo.miniapps.models import EntryCode, MiniApp, Visit
from tapgo.miniapps.services import MiniAppError
from tapgo.miniapps.tests.scans import opens, scanned

Kind = EntryCode.Kind


def later(**kwargs):
    return timezone.now() + timedelta(**kwargs)


def expire(entry: EntryCode) -> None:
    """Move a code's expiry into the past (no service sets one there)."""
    EntryCode.objects.filter(pk=entry.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    entry.refresh_from_db()


# --- making codes ---------------------------------------------------------------------------


def test_every_kind_with_its_parameter_name_and_expiry(app, product):
    until = later(days=30)
    store = services.code_create(app=app, kind=Kind.STORE, scene_param="window", name="Window")
    table = services.code_create(
        app=app, kind=Kind.TABLE, table_label="Patio 1", scene_param="summer"
    )
    item = services.code_create(
        app=app, kind=Kind.PRODUCT, product_public_id=product.public_id, expires_at=until
    )
    campaign = services.code_create(
        app=app, kind=Kind.CAMPAIGN, scene_param="  春季传单 🌸 ", name=" Spring flyer "
    )
    assert (store.kind, store.scene_param, store.name) == ("store", "window", "Window")
    assert (table.table_label, table.scene_param) == ("Patio 1", "summer")
    assert item.product == product and item.expires_at == until and item.scene_param == ""
    assert (campaign.scene_param, campaign.name) == ("春季传单 🌸", "Spring flyer")  # trimmed
    for entry in (store, table, item, campaign):
        assert entry.merchant_id == app.merchant_id and len(entry.code) == services.CODE_LENGTH
        assert scanned(entry.code) == (entry, services.CODE_WORKING)


def test_the_scene_parameter_is_32_printable_characters(app):
    ok = services.code_create(app=app, kind=Kind.CAMPAIGN, scene_param="拿" * 32)
    assert ok.scene_param == "拿" * 32
    # An emoji sequence (with its zero-width joiner) and an ideographic space are printable.
    family = services.code_create(app=app, kind=Kind.CAMPAIGN, scene_param="👨\u200d👩\u200d👧　店")
    assert family.scene_param == "👨\u200d👩\u200d👧　店"
    # Composed and decomposed é are one parameter (stored NFC).
    composed = services.code_create(app=app, kind=Kind.CAMPAIGN, scene_param="caf\u00e9")
    assert composed.scene_param == "café"
    count = EntryCode.objects.count()
    with pytest.raises(MiniAppError, match="parameter"):
        services.code_create(app=app, kind=Kind.CAMPAIGN, scene_param="cafe\u0301")
    for bad in ["x" * 33, "拿" * 33, "a\x00b", "tab\there", "new\nline", "\u202eevil", "\x7f",
                "\u200b", "\ud800", "\ue000", "a\u2028b"]:  # fmt: skip
        with pytest.raises(MiniAppError):
            services.code_create(app=app, kind=Kind.CAMPAIGN, scene_param=bad)
    with pytest.raises(MiniAppError):
        services.code_create(app=app, kind=Kind.CAMPAIGN, scene_param=["a list"])
    assert EntryCode.objects.count() == count


def test_names_and_expiries_are_checked(app):
    count = EntryCode.objects.count()
    with pytest.raises(MiniAppError, match="60"):
        services.code_create(app=app, kind=Kind.STORE, scene_param="a", name="n" * 61)
    with pytest.raises(MiniAppError):
        services.code_create(app=app, kind=Kind.STORE, scene_param="a", name="bad\x00name")
    with pytest.raises(MiniAppError, match="future"):
        services.code_create(
            app=app, kind=Kind.STORE, scene_param="a", expires_at=later(seconds=-1)
        )
    with pytest.raises(MiniAppError):
        naive = timezone.make_naive(later(days=1))
        services.code_create(app=app, kind=Kind.STORE, scene_param="a", expires_at=naive)
    with pytest.raises(MiniAppError):
        services.code_create(app=app, kind=Kind.STORE, scene_param="a", expires_at="tomorrow")
    with pytest.raises(MiniAppError, match="kind"):
        services.code_create(app=app, kind="poster", scene_param="a")
    assert EntryCode.objects.count() == count


def test_a_campaign_needs_a_parameter_and_a_table_a_label(app):
    with pytest.raises(MiniAppError, match="campaign"):
        services.code_create(app=app, kind=Kind.CAMPAIGN, scene_param="   ")
    with pytest.raises(MiniAppError):
        services.code_create(app=app, kind=Kind.TABLE, table_label="  ")
    with pytest.raises(MiniAppError):
        services.code_create(app=app, kind=Kind.TABLE, table_label="t" * 41)


def test_a_product_code_names_one_of_the_merchants_products(app, product, other_merchant):
    theirs = products_of(other_merchant).get()
    count = EntryCode.objects.count()
    for bad in [theirs.public_id, "", "nosuchprodct", "x" * 5000, "\x00", None]:
        with pytest.raises(MiniAppError, match="your products"):
            services.code_create(app=app, kind=Kind.PRODUCT, product_public_id=bad)
    assert EntryCode.objects.count() == count


def test_the_unique_constraints_decide_duplicates_with_a_clear_message(app, product):
    # The app's own store code has no parameter: a second one is a duplicate.
    cases = [
        ({"kind": Kind.STORE}, "store code"),
        ({"kind": Kind.TABLE, "table_label": "1"}, "table"),
        ({"kind": Kind.PRODUCT, "product_public_id": product.public_id}, "product"),
        ({"kind": Kind.CAMPAIGN, "scene_param": "flyer"}, "campaign"),
    ]
    services.code_create(app=app, kind=Kind.PRODUCT, product_public_id=product.public_id)
    services.code_create(app=app, kind=Kind.CAMPAIGN, scene_param="flyer")
    count = EntryCode.objects.count()
    for kwargs, words in cases:
        with pytest.raises(MiniAppError, match=f"already a {words}|already has a code"):
            services.code_create(app=app, **kwargs)
    assert EntryCode.objects.count() == count
    # Another parameter makes another code, of every kind.
    for kwargs, _words in cases:
        services.code_create(app=app, **{**kwargs, "scene_param": "other"})
    assert EntryCode.objects.count() == count + 4


def test_table_codes_in_bulk_with_a_parameter(app):
    before = {c.table_label: c.code for c in app.codes.filter(kind="table")}
    until = later(days=7)
    services.table_codes_create(app=app, labels=["1", "2"], scene_param="terrace", expires_at=until)
    terrace = app.codes.filter(kind="table", scene_param="terrace")
    assert sorted(terrace.values_list("table_label", flat=True)) == ["1", "2"]
    assert {c.expires_at for c in terrace} == {until}
    assert {c.table_label: c.code for c in app.codes.filter(kind="table", scene_param="")} == before
    with pytest.raises(MiniAppError):
        services.table_codes_create(app=app, labels=["3"], scene_param="x" * 33)


def test_renaming_and_setting_the_expiry(app):
    entry = services.code_create(app=app, kind=Kind.CAMPAIGN, scene_param="flyer")
    until = later(days=2)
    services.code_update(entry=entry, name="  Flyer A ", expires_at=until)
    entry.refresh_from_db()
    assert (entry.name, entry.expires_at) == ("Flyer A", until)
    with pytest.raises(MiniAppError, match="future"):
        services.code_update(entry=entry, name="Flyer A", expires_at=later(days=-1))
    entry.refresh_from_db()
    assert entry.expires_at == until
    # An expired code can be renamed keeping its date, and revived by clearing it.
    expire(entry)
    past = entry.expires_at
    services.code_update(entry=entry, name="Old flyer", expires_at=past)
    entry.refresh_from_db()
    assert (entry.name, entry.expires_at) == ("Old flyer", past)
    assert scanned(entry.code)[1] == services.CODE_EXPIRED
    services.code_update(entry=entry, name="Old flyer", expires_at=None)
    assert scanned(entry.code)[1] == services.CODE_WORKING


# --- what a scan resolves to ----------------------------------------------------------------


def test_lookup_tells_working_disabled_expired_and_nothing(app, merchant):
    entry = services.code_create(app=app, kind=Kind.CAMPAIGN, scene_param="flyer")
    assert scanned(entry.code) == (entry, "")
    assert opens(entry.code) == entry

    services.code_set_enabled(entry=entry, enabled=False)
    assert scanned(entry.code) == (entry, "disabled")
    assert opens(entry.code) is None

    services.code_set_enabled(entry=entry, enabled=True)
    expire(entry)
    assert scanned(entry.code) == (entry, "expired")
    assert opens(entry.code) is None
    services.code_set_enabled(entry=entry, enabled=False)  # both: the merchant's switch tells
    assert scanned(entry.code)[1] == "disabled"

    listings.app_set_published(app=app, published=False)  # not live: nothing at all
    assert scanned(entry.code) is None
    listings.app_set_published(app=app, published=True)
    Merchant.objects.filter(pk=merchant.pk).update(is_active=False)
    assert scanned(entry.code) is None
    for bad in ["", "nosuchcode", entry.code.upper(), entry.code + "2", "x" * 5000, None]:
        assert scanned(bad) is None


def test_a_scan_reads_the_code_and_its_apps_state_in_one_row(app, product):
    """miniapps.live.code_state: one prepared row, its status by the database's clock."""
    codes = {
        "working": services.code_create(app=app, kind=Kind.CAMPAIGN, scene_param="a"),
        "disabled": services.code_create(app=app, kind=Kind.CAMPAIGN, scene_param="b"),
        "expired": services.code_create(app=app, kind=Kind.CAMPAIGN, scene_param="c"),
        "future": services.code_create(
            app=app, kind=Kind.CAMPAIGN, scene_param="d", expires_at=later(minutes=5)
        ),
        "product": services.code_create(
            app=app, kind=Kind.PRODUCT, product_public_id=product.public_id, scene_param="e"
        ),
    }
    services.code_set_enabled(entry=codes["disabled"], enabled=False)
    expire(codes["expired"])
    for name, entry in codes.items():
        found = live.code_state(entry.code)
        assert found is not None
        got, state, status = found
        expected = {"disabled": "disabled", "expired": "expired"}.get(name, "")
        assert status == expected
        assert (got.pk, got.kind, got.scene_param, got.table_label) == (
            entry.pk, entry.kind, entry.scene_param, entry.table_label,
        )  # fmt: skip
        assert state.pk == app.pk and state.slug == app.slug
    assert live.code_state(codes["product"].code)[0].product_public_id == product.public_id
    assert live.code_state(codes["working"].code)[0].product_public_id == ""
    MiniApp.objects.filter(pk=app.pk).update(status=MiniApp.Status.DRAFT)
    assert live.code_state(codes["working"].code) is None
    assert live.code_state("nosuchcode") is None


def test_scans_are_counted_per_code(app, customer):
    table = app.codes.get(kind="table", table_label="1")
    for _ in range(3):
        services.visit_record(app=app, customer=customer, scene="scan", code=table)
    services.visit_record(app=app, customer=customer, scene="direct")
    counted = {c.pk: c.scans for c in services.codes_with_scans(app)}
    assert counted[table.pk] == 3
    assert sum(counted.values()) == 3
    assert Visit.objects.filter(code=table, scene_param="", code_state="").count() == 3


# --- QR images ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", services.PNG_SIZES)
def test_png_in_each_size_decodes_to_the_codes_url(app, size):
    entry = services.code_create(app=app, kind=Kind.CAMPAIGN, scene_param="flyer")
    data = services.code_png(entry, size=size)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.size == (size, size)
    assert [r.text for r in zxingcpp.read_barcodes(image.convert("L"))] == [
        services.code_url(entry)
    ]


def test_png_refuses_other_sizes(app):
    entry = app.codes.get(kind="store")
    for bad in [0, 1, 64, 255, 512, 4096, -1, 10**9]:
        with pytest.raises(MiniAppError, match="size"):
            services.code_png(entry, size=bad)
