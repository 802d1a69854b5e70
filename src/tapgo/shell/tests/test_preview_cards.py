"""Link previews are 1200 × 630 JPEG cards (chat apps' convention; several crawlers show no
WebP): the product's photo (or the app's) beside the shop's name and the product's name,
drawn with Pillow, remembered within bounds, and safe under many threads."""

import io
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from tapgo.catalog.models import Product
from tapgo.core.images import image_store
from tapgo.miniapps import cards, posters

RED = (220, 30, 30)


def og_image(client, path: str) -> str:
    page = client.get(path).content.decode()
    (url,) = re.findall(r'<meta property="og:image" content="([^"]+)"', page)
    return url.replace("&amp;", "&")


def card_of(client, url: str) -> Image.Image:
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "public" in response["Cache-Control"]
    assert len(response.content) < 300_000  # chat apps drop bigger previews
    image = Image.open(io.BytesIO(response.content))
    assert (image.format, image.size) == ("JPEG", (1200, 630))
    return image.convert("RGB")


def close(pixel, color, slack=24) -> bool:
    return all(abs(a - b) <= slack for a, b in zip(pixel, color, strict=True))


def text_pixels(image: Image.Image) -> int:
    """Dark pixels on the card's right (the text's side)."""
    right = image.crop((cards.PICTURE_WIDTH + 10, 0, 1200, 630 - cards.BAR - 2)).convert("L")
    return sum(right.histogram()[:160])


def red_photo(merchant) -> str:
    out = io.BytesIO()
    Image.new("RGB", (900, 700), RED).save(out, format="PNG")
    upload = SimpleUploadedFile("latte.png", out.getvalue(), "image/png")
    return image_store(upload, folder=f"products/{merchant.public_id}")["thumb"]


def test_a_product_preview_is_a_jpeg_card_of_its_photo_and_names(client, app, product):
    Product.objects.filter(pk=product.pk).update(image=red_photo(app.merchant))
    url = og_image(client, reverse("shell:product", args=[app.slug, product.public_id]))
    image = card_of(client, url)
    assert close(image.getpixel((300, 300)), RED)  # the photo, on the left
    assert close(image.getpixel((1100, 40)), (255, 255, 255), 6)  # the text's side
    if posters.available():
        assert text_pixels(image) > 2000  # the shop's and the product's names


def test_a_product_without_a_photo_gets_the_brand_and_the_shops_name(client, app, product):
    url = og_image(client, reverse("shell:product", args=[app.slug, product.public_id]))
    image = card_of(client, url)
    assert close(image.getpixel((20, 20)), (0x0F, 0x76, 0x6E))  # the brand colour, no icon
    if posters.available():
        assert text_pixels(image) > 2000


def test_the_card_changes_address_when_what_it_shows_changes(client, app, product):
    path = reverse("shell:product", args=[app.slug, product.public_id])
    first = og_image(client, path)
    Product.objects.filter(pk=product.pk).update(name="Flat white")
    from django.core.cache import cache

    cache.clear()
    second = og_image(client, path)
    assert first != second and first.split("?")[0] == second.split("?")[0]


def test_app_and_article_cards_and_404s(client, app, product):
    from tapgo.official.models import Article

    image = card_of(client, og_image(client, reverse("shell:app", args=[app.slug])))
    assert image.size == (1200, 630)
    article = Article.objects.create(
        merchant=app.merchant,
        app=app,
        title="春季新品",
        status=Article.Status.PUBLISHED,
        published_at="2026-03-01T08:00:00Z",
    )
    path = reverse("shell:article", args=[app.slug, article.public_id])
    assert card_of(client, og_image(client, path)).size == (1200, 630)
    for bad in (
        reverse("shell:product_card", args=[app.slug, "nope"]),
        reverse("shell:article_card", args=[app.slug, "nope"]),
        reverse("shell:app_card", args=["no-such-app"]),
    ):
        assert client.get(bad).status_code == 404


def test_cards_are_drawn_a_few_at_a_time_and_remembered_within_bounds(monkeypatch):
    cards._render.cache_clear()
    drawing = 0
    most = 0
    lock = threading.Lock()
    real = cards._draw

    def counting(card):
        nonlocal drawing, most
        with lock:
            drawing += 1
            most = max(most, drawing)
        try:
            return real(card)
        finally:
            with lock:
                drawing -= 1

    monkeypatch.setattr(cards, "_draw", counting)
    wanted = [
        cards.Card(shop="Harbour Café", title=f"Latte {i}") for i in range(cards.CARDS_KEPT + 8)
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(cards.render, wanted * 2))
    assert all(data[:2] == b"\xff\xd8" for data in results)  # every one a JPEG
    assert most <= cards.DRAWING
    assert cards._render.cache_info().currsize <= cards.CARDS_KEPT


@pytest.mark.skipif(not posters.available(), reason="no CJK font")
def test_chinese_names_are_drawn_not_tofu():
    chinese = cards.render(cards.Card(shop="港湾咖啡", title="拿铁"))
    image = Image.open(io.BytesIO(chinese)).convert("RGB")
    assert text_pixels(image) > 1000
