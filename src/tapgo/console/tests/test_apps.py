from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tapgo.console.tests.conftest import png_bytes
from tapgo.flows import listings
from tapgo.miniapps import services as miniapps
from tapgo.miniapps.models import MiniApp


def _new_app_data(**extra):
    return {
        "template": "menu",
        "name": "Noodles",
        "slug": "noodles",
        "description": "Hand-pulled.",
        "brand_color": "#aa3300",
    } | extra


def test_create_app_from_template_with_images(owner_client, merchant):
    page = owner_client.get(reverse("console:app_new", args=[merchant.public_id]))
    assert "Menu &amp; ordering" in page.content.decode()
    data = _new_app_data(
        logo=SimpleUploadedFile("logo.png", png_bytes((300, 300)), "image/png"),
        cover=SimpleUploadedFile("cover.png", png_bytes((1600, 600)), "image/png"),
    )
    response = owner_client.post(reverse("console:app_new", args=[merchant.public_id]), data)
    app = MiniApp.objects.get(slug="noodles")
    assert response["Location"] == reverse("console:app", args=[merchant.public_id, app.public_id])
    assert app.merchant_id == merchant.pk
    assert app.brand_color == "#aa3300"
    assert app.status == MiniApp.Status.DRAFT
    assert app.logo.endswith(".webp") and default_storage.exists(app.logo)
    assert app.cover.endswith(".webp") and default_storage.exists(app.cover)
    # the store code comes with the app
    assert miniapps.codes_of(app).filter(kind="store").count() == 1


def test_app_page_shows_public_url_and_publishes(owner_client, merchant):
    app = listings.app_create(merchant=merchant, name="Noodles", slug="noodles")
    url = reverse("console:app", args=[merchant.public_id, app.public_id])
    page = owner_client.get(url).content.decode()
    assert "/m/noodles/" in page
    publish = reverse("console:app_publish", args=[merchant.public_id, app.public_id])
    owner_client.post(publish, {"published": "1"})
    app.refresh_from_db()
    assert app.is_published
    assert "Unpublish" in owner_client.get(url).content.decode()
    owner_client.post(publish, {"published": "0"})
    app.refresh_from_db()
    assert not app.is_published


def test_edit_app(owner_client, merchant, app):
    url = reverse("console:app", args=[merchant.public_id, app.public_id])
    response = owner_client.post(
        url, {"name": "Café", "slug": "cafe-two", "description": "", "brand_color": "#123456"}
    )
    assert response.status_code == 302
    app.refresh_from_db()
    assert (app.name, app.slug, app.brand_color) == ("Café", "cafe-two", "#123456")


def test_bad_slug_and_taken_slug_are_refused(owner_client, merchant, other_merchant):
    url = reverse("console:app_new", args=[merchant.public_id])
    bad = owner_client.post(url, _new_app_data(slug="No Spaces!"))
    assert "lowercase letters" in bad.content.decode()
    taken = owner_client.post(url, _new_app_data(slug="bakery"))
    assert "is taken" in taken.content.decode()
    reserved = owner_client.post(url, _new_app_data(slug="console"))
    assert reserved.status_code == 200
    color = owner_client.post(url, _new_app_data(brand_color="red"))
    assert "#0f766e" in color.content.decode()
    assert not MiniApp.objects.filter(merchant=merchant).exists()


def test_text_file_named_png_is_refused(owner_client, merchant):
    fake = SimpleUploadedFile("logo.png", b"this is not an image at all", "image/png")
    response = owner_client.post(
        reverse("console:app_new", args=[merchant.public_id]), _new_app_data(logo=fake)
    )
    assert response.status_code == 200
    assert "not an image we can read" in response.content.decode()
    assert not MiniApp.objects.filter(slug="noodles").exists()


def test_image_over_5_mb_is_refused(owner_client, merchant, app):
    big = SimpleUploadedFile("cover.png", png_bytes() + b"\0" * (5 * 1024 * 1024), "image/png")
    url = reverse("console:app", args=[merchant.public_id, app.public_id])
    response = owner_client.post(
        url, {"name": "Renamed", "slug": app.slug, "brand_color": "#0f766e", "cover": big}
    )
    assert response.status_code == 200
    assert "larger than 5 MB" in response.content.decode()
    app.refresh_from_db()
    assert app.name == "Test Café" and app.cover == ""


def test_apps_list(owner_client, merchant, app):
    page = owner_client.get(reverse("console:apps", args=[merchant.public_id])).content.decode()
    assert app.name in page
    assert "/m/test-cafe/" in page
    assert reverse("console:codes", args=[merchant.public_id, app.public_id]) in page


def _slug_help(html: str) -> str:
    start = html.index('id="id_slug_helptext"')
    return html[start : html.index("</div>", start)]


def test_the_slug_help_shows_the_real_address(owner_client, merchant, app, settings):
    """The help text read "the app opens at /m//": its <slug> was taken for a tag."""
    new = owner_client.get(reverse("console:app_new", args=[merchant.public_id]))
    help_text = _slug_help(new.content.decode())
    assert f"{settings.PUBLIC_URL}/m/your-app/" in help_text and "/m//" not in help_text
    edit = owner_client.get(reverse("console:app", args=[merchant.public_id, app.public_id]))
    assert f"{settings.PUBLIC_URL}/m/test-cafe/" in _slug_help(edit.content.decode())
