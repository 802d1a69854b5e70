"""The console's codes page with every kind: creating, the list with states and scans,
editing, switching, and the downloads in their sizes and as posters."""

import io
import re
from datetime import timedelta

import pytest
import zxingcpp
from django.urls import reverse
from django.utils import timezone
from PIL import Image, ImageFont

from tapgo.catalog import services as catalog
from tapgo.miniapps import posters
from tapgo.miniapps import services as miniapps
from tapgo.miniapps.models import EntryCode, Visit
from tapgo.miniapps.tests.scans import scanned

Kind = EntryCode.Kind


@pytest.fixture(autouse=True)
def _fresh_fonts():
    posters._discover.cache_clear()
    yield
    posters._discover.cache_clear()


def codes_url(merchant, app):
    return reverse("console:codes", args=[merchant.public_id, app.public_id])


def local(dt) -> str:
    """A time as the datetime-local input sends it, in the store's zone (Asia/Shanghai)."""
    return timezone.localtime(dt, timezone.get_fixed_timezone(8 * 60)).strftime("%Y-%m-%dT%H:%M")


def test_create_a_code_of_each_kind(owner_client, merchant, app, product):
    url = codes_url(merchant, app)
    until = timezone.now() + timedelta(days=10)
    posts = [
        {"kind": "store", "store-name": "Window", "store-scene_param": "window"},
        {"kind": "table", "tables": "Patio", "scene_param": "summer", "expires_at": local(until)},
        {"kind": "product", "product-product": product.public_id, "product-scene_param": "shelf"},
        {"kind": "campaign", "campaign-scene_param": "春季传单", "campaign-name": "Spring flyer"},
    ]
    for data in posts:
        response = owner_client.post(url, data)
        assert response.status_code == 302, response.content.decode()[-2000:]
    made = {c.kind: c for c in EntryCode.objects.filter(app=app).exclude(scene_param="")}
    assert (made["store"].name, made["store"].scene_param) == ("Window", "window")
    table = made["table"]
    assert (table.table_label, table.scene_param) == ("Patio", "summer")
    assert abs(table.expires_at - until) < timedelta(minutes=1)
    assert (made["product"].product, made["product"].scene_param) == (product, "shelf")
    assert (made["campaign"].scene_param, made["campaign"].name) == ("春季传单", "Spring flyer")


def test_bad_input_gets_a_message_and_changes_nothing(
    owner_client, merchant, app, product, other_merchant
):
    url = codes_url(merchant, app)
    miniapps.code_create(app=app, kind=Kind.CAMPAIGN, scene_param="flyer")
    theirs = catalog.products_of(other_merchant).get()
    past = local(timezone.now() - timedelta(days=1))
    count = EntryCode.objects.count()
    bad_posts = [
        ({"kind": "campaign", "campaign-scene_param": ""}, "This field is required"),
        ({"kind": "campaign", "campaign-scene_param": "flyer"}, "already a campaign"),
        ({"kind": "campaign", "campaign-scene_param": "x" * 33}, "at most 32"),
        ({"kind": "campaign", "campaign-scene_param": "a\x01b"}, "control characters"),
        ({"kind": "campaign", "campaign-scene_param": "a", "campaign-expires_at": past}, "future"),
        ({"kind": "campaign", "campaign-scene_param": "a", "campaign-expires_at": "soon"}, "valid"),
        ({"kind": "product", "product-product": theirs.public_id}, "Select a valid choice"),
        ({"kind": "product", "product-product": "x" * 5000}, "Select a valid choice"),
        ({"kind": "store", "store-scene_param": ""}, "already a store code"),
        ({"kind": "table", "tables": "9-1"}, "not valid"),
        ({"kind": "nonsense", "tables": ""}, "This field is required"),
    ]
    for data, words in bad_posts:
        response = owner_client.post(url, data)
        assert response.status_code == 200, data
        html = response.content.decode()
        assert "errorlist" in html and words in html, (data, words)
    assert EntryCode.objects.count() == count


def test_the_list_groups_codes_by_kind_with_state_and_scans(
    owner_client, merchant, app, product, customer
):
    flyer = miniapps.code_create(
        app=app, kind=Kind.CAMPAIGN, scene_param="spring-flyer", name="Spring"
    )
    old = miniapps.code_create(app=app, kind=Kind.CAMPAIGN, scene_param="winter")
    EntryCode.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    item = miniapps.code_create(app=app, kind=Kind.PRODUCT, product_public_id=product.public_id)
    table3 = app.codes.get(kind="table", table_label="3")
    miniapps.code_set_enabled(entry=table3, enabled=False)
    for _ in range(2):
        miniapps.visit_record(app=app, customer=customer, scene="scan", code=flyer)
    html = owner_client.get(codes_url(merchant, app)).content.decode()

    def section(kind):
        return re.search(rf'<section[^>]*id="codes-{kind}".*?</section>', html, re.S)[0]

    campaigns = section("campaign")
    assert "spring-flyer" in campaigns and "winter" in campaigns and "Spring" in campaigns
    assert "2 scans" in campaigns and "Expired" in campaigns and "Active" in campaigns
    assert f"/s/{item.code}" in section("product") and "Product: Latte" in section("product")
    tables = section("table")
    assert tables.count('class="code-row') == 3 and "Disabled" in tables
    assert f"/s/{flyer.code}" not in tables
    for entry in EntryCode.objects.filter(app=app):
        for name in ("code_svg", "code_png", "code_poster_pdf", "code_poster_png", "code_edit"):
            assert reverse(f"console:{name}", args=[merchant.public_id, entry.code]) in html
    assert 'style="' not in html and "<script>" not in html


def test_edit_a_codes_name_and_expiry(owner_client, merchant, app):
    entry = miniapps.code_create(app=app, kind=Kind.CAMPAIGN, scene_param="flyer")
    url = reverse("console:code_edit", args=[merchant.public_id, entry.code])
    assert owner_client.get(url).status_code == 200
    until = timezone.now() + timedelta(days=3)
    response = owner_client.post(url, {"name": "Flyer B", "expires_at": local(until)})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.name == "Flyer B" and abs(entry.expires_at - until) < timedelta(minutes=1)
    # The form sent back as it was shown (to the minute) keeps the expiry as it is.
    owner_client.post(url, {"name": "Flyer C", "expires_at": local(entry.expires_at)})
    kept = entry.expires_at
    entry.refresh_from_db()
    assert entry.name == "Flyer C" and entry.expires_at == kept
    past = local(timezone.now() - timedelta(days=1))
    response = owner_client.post(url, {"name": "Flyer D", "expires_at": past})
    assert response.status_code == 200 and "future" in response.content.decode()
    entry.refresh_from_db()
    assert entry.name == "Flyer C"
    owner_client.post(url, {"name": "", "expires_at": ""})
    entry.refresh_from_db()
    assert entry.name == "" and entry.expires_at is None


def test_disable_and_enable_any_kind(owner_client, merchant, app, product):
    entry = miniapps.code_create(app=app, kind=Kind.PRODUCT, product_public_id=product.public_id)
    url = reverse("console:code_enabled", args=[merchant.public_id, entry.code])
    owner_client.post(url, {"enabled": "0"})
    assert scanned(entry.code)[1] == "disabled"
    owner_client.post(url, {"enabled": "1"})
    assert scanned(entry.code)[1] == ""


@pytest.mark.parametrize("size", [256, 1024, 2048])
def test_png_downloads_in_each_size(owner_client, merchant, app, size):
    entry = app.codes.get(kind="table", table_label="2")
    url = reverse("console:code_png", args=[merchant.public_id, entry.code])
    response = owner_client.get(url, {"size": size})
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert f'filename="test-cafe-table-2-{size}px.png"' in response["Content-Disposition"]
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (size, size)
    assert [r.text for r in zxingcpp.read_barcodes(image.convert("L"))] == [
        miniapps.code_url(entry)
    ]


def test_a_bad_png_size_is_a_400_with_a_message(owner_client, merchant, app):
    entry = app.codes.get(kind="store")
    url = reverse("console:code_png", args=[merchant.public_id, entry.code])
    for bad in ["12", "abc", "", "1024.0", "-1", "99999999999", "2048 ", "\x00", "٢٥٦"]:
        response = owner_client.get(url, {"size": bad})
        assert response.status_code == 400, bad
        assert "256, 1024, 2048" in response.content.decode(), bad


@pytest.mark.parametrize("fmt", ["pdf", "png"])
@pytest.mark.parametrize("size", ["a4", "tent"])
def test_poster_downloads(owner_client, merchant, app, product, fmt, size):
    entry = miniapps.code_create(
        app=app, kind=Kind.PRODUCT, product_public_id=product.public_id, scene_param="shelf"
    )
    url = reverse(f"console:code_poster_{fmt}", args=[merchant.public_id, entry.code])
    response = owner_client.get(url, {"size": size, "lang": "zh-hans"})
    assert response.status_code == 200
    assert response["Content-Type"] == ("application/pdf" if fmt == "pdf" else "image/png")
    name = f"test-cafe-product-latte-shelf-poster-{size}.{fmt}"
    assert f'filename="{name}"' in response["Content-Disposition"]
    if fmt == "png":
        image = Image.open(io.BytesIO(response.content))
        assert image.size == posters.pixels(size)
        texts = [r.text for r in zxingcpp.read_barcodes(image.convert("L"))]
        assert texts == [miniapps.code_url(entry)]
    else:
        assert response.content.startswith(b"%PDF-")


def test_the_poster_language_follows_the_console_or_lang(owner_client, merchant, app):
    entry = app.codes.get(kind="table", table_label="1")
    url = reverse("console:code_poster_png", args=[merchant.public_id, entry.code])
    english = owner_client.get(url, {"size": "tent", "lang": "en"}).content
    chinese = owner_client.get(url, {"size": "tent", "lang": "zh-hans"}).content
    assert english != chinese  # "Table 1" and "1 号桌"
    owner_client.cookies["django_language"] = "zh-hans"
    assert owner_client.get(url, {"size": "tent"}).content == chinese


def test_bad_poster_requests_are_a_400_with_a_message(owner_client, merchant, app):
    entry = app.codes.get(kind="store")
    url = reverse("console:code_poster_pdf", args=[merchant.public_id, entry.code])
    for params, words in [
        ({"size": "a3"}, "A4 or table tent"),
        ({"size": "x" * 5000}, "A4 or table tent"),
        ({"size": "a4", "lang": "fr"}, "English or Simplified Chinese"),
        ({"size": "a4", "lang": "\x00"}, "English or Simplified Chinese"),
    ]:
        response = owner_client.get(url, params)
        assert response.status_code == 400 and words in response.content.decode(), params


def test_without_a_cjk_font_the_console_says_what_to_install(
    owner_client, merchant, app, settings, tmp_path
):
    latin = tmp_path / "latin.otf"
    latin.write_bytes(ImageFont.load_default(20).font_bytes)
    settings.POSTER_FONT = str(latin)
    html = owner_client.get(codes_url(merchant, app)).content.decode()
    assert 'data-testid="posters-unavailable"' in html and "fonts-noto-cjk" in html
    assert "/poster.pdf" not in html  # no links to posters that would print boxes
    entry = app.codes.get(kind="store")
    url = reverse("console:code_poster_png", args=[merchant.public_id, entry.code])
    response = owner_client.get(url, {"size": "a4"})
    assert response.status_code == 503 and "fonts-noto-cjk" in response.content.decode()
    # QR downloads need no font.
    png = reverse("console:code_png", args=[merchant.public_id, entry.code])
    assert owner_client.get(png).status_code == 200


def test_the_print_sheet_leaves_out_expired_codes(owner_client, merchant, app):
    expired = app.codes.get(kind="table", table_label="2")
    EntryCode.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    html = owner_client.get(
        reverse("console:codes_print", args=[merchant.public_id, app.public_id])
    ).content.decode()
    assert html.count('class="qr-card"') == 2 and f"/s/{expired.code}" not in html


def test_staff_can_manage_codes(client, staff_member, merchant, app):
    client.force_login(staff_member)
    response = client.post(
        codes_url(merchant, app), {"kind": "campaign", "campaign-scene_param": "staff-flyer"}
    )
    assert response.status_code == 302
    assert EntryCode.objects.filter(scene_param="staff-flyer").exists()
    assert not Visit.objects.exists()
