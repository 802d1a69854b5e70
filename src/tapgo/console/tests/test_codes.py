import io

from django.urls import reverse
from PIL import Image

from tapgo.miniapps import services as miniapps
from tapgo.miniapps.tests.scans import opens


def _tables(app):
    return [c.table_label for c in miniapps.codes_of(app).filter(kind="table")]


def test_codes_page_lists_codes_with_short_urls(owner_client, merchant, app):
    page = owner_client.get(reverse("console:codes", args=[merchant.public_id, app.public_id]))
    html = page.content.decode()
    for entry in miniapps.codes_of(app):
        assert f"/s/{entry.code}" in html
        assert reverse("console:code_svg", args=[merchant.public_id, entry.code]) in html
        assert reverse("console:code_png", args=[merchant.public_id, entry.code]) in html
    assert "<svg" in html  # the store code's preview
    assert 'style="' not in html  # the CSP forbids inline styles


def test_create_table_codes_from_a_range_and_names(owner_client, merchant, app):
    url = reverse("console:codes", args=[merchant.public_id, app.public_id])
    owner_client.post(url, {"tables": "1-12"})
    assert _tables(app) == [str(n) for n in range(1, 13)]
    owner_client.post(url, {"tables": "Patio, Bar"})
    assert _tables(app)[-2:] == ["Patio", "Bar"]
    for bad in ["12-1", "1-9999", "", ",,,"]:
        response = owner_client.post(url, {"tables": bad})
        assert response.status_code == 200
        assert "errorlist" in response.content.decode()
    assert len(_tables(app)) == 14


def test_disable_and_enable_a_code(owner_client, merchant, app):
    entry = miniapps.codes_of(app).filter(kind="table").first()
    url = reverse("console:code_enabled", args=[merchant.public_id, entry.code])
    owner_client.post(url, {"enabled": "0"})
    entry.refresh_from_db()
    assert not entry.enabled
    assert opens(entry.code) is None
    owner_client.post(url, {"enabled": "1"})
    entry.refresh_from_db()
    assert entry.enabled


def test_code_downloads_svg_and_png(owner_client, merchant, app):
    entry = miniapps.codes_of(app).get(kind="table", table_label="2")
    svg = owner_client.get(reverse("console:code_svg", args=[merchant.public_id, entry.code]))
    assert svg.status_code == 200
    assert svg["Content-Type"] == "image/svg+xml"
    assert svg["Content-Disposition"] == 'attachment; filename="test-cafe-table-2.svg"'
    assert svg.content.startswith(b"<svg")
    png = owner_client.get(reverse("console:code_png", args=[merchant.public_id, entry.code]))
    assert png["Content-Type"] == "image/png"
    assert png["Content-Disposition"] == 'attachment; filename="test-cafe-table-2.png"'
    image = Image.open(io.BytesIO(png.content))
    image.load()
    assert image.format == "PNG" and image.width > 100
    store = miniapps.codes_of(app).get(kind="store")
    response = owner_client.get(reverse("console:code_png", args=[merchant.public_id, store.code]))
    assert 'filename="test-cafe-store.png"' in response["Content-Disposition"]


def test_code_png_decodes_to_its_url(owner_client, merchant, app):
    import zxingcpp

    entry = miniapps.codes_of(app).get(kind="table", table_label="1")
    png = owner_client.get(reverse("console:code_png", args=[merchant.public_id, entry.code]))
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert [r.text for r in results] == [miniapps.code_url(entry)]


def test_print_sheet(owner_client, merchant, app):
    disabled = miniapps.codes_of(app).get(kind="table", table_label="3")
    miniapps.code_set_enabled(entry=disabled, enabled=False)
    url = reverse("console:codes_print", args=[merchant.public_id, app.public_id])
    html = owner_client.get(url).content.decode()
    assert html.count('class="qr-card"') == 2
    assert html.count("<svg") == 2
    assert "viewBox" in html  # scales to the card on paper
    assert app.name in html
    assert "<strong>1</strong>" in html and "<strong>2</strong>" in html
    assert f"/s/{disabled.code}" not in html
    assert 'style="' not in html and "<script>" not in html


def test_print_css_is_a4_and_hides_the_console(client):
    from django.contrib.staticfiles import finders

    css = open(finders.find("console/console.css"), encoding="utf-8").read()
    assert "@page { size: A4" in css
    assert "break-inside: avoid" in css
    assert ".topbar, .tabs, .messages, .no-print { display: none" in css
