"""Migrate and seed the demo data into the database the environment names; print what bench needs.

Run by bench/run.py in a subprocess with TAPGO_VAR_DIR (and TAPGO_DATABASE_URL) set. On top of
`tapgo.demo.seed()` it gives every café product a photo-like picture (through the same upload
path a merchant uses, in place of the demo's drawings), so the first screen is measured with
photo-sized thumbnails. The demo's thirty days of history are left out.
"""

import io
import json
import os
import random
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tapgo.settings")


def _photo(seed: int) -> io.BytesIO:
    """A 1200×900 JPEG with gradients, shapes and grain: compresses like a real photo."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    w, h = 1200, 900
    top = tuple(rng.randrange(40, 220) for _ in range(3))
    bottom = tuple(rng.randrange(20, 160) for _ in range(3))
    image = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(image)
    for y in range(h):
        t = y / h
        draw.line(
            [(0, y), (w, y)],
            fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    for _ in range(14):
        x, y, r = rng.randrange(w), rng.randrange(h), rng.randrange(40, 260)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(6))
    grain = Image.effect_noise((w, h), 64).convert("RGB")
    image = Image.blend(image, grain, 0.25)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    out.seek(0)
    out.size = len(out.getvalue())
    return out


def _add_pictures(merchant) -> None:
    from tapgo.catalog import services as catalog
    from tapgo.catalog.models import Product
    from tapgo.core.images import image_store

    # Every product, the demo's drawn pictures replaced: a photo weighs what a real one does.
    products = Product.objects.filter(merchant=merchant).select_related("category")
    for product in products.prefetch_related("variants").order_by("id"):
        names = image_store(_photo(product.pk), folder="products")
        catalog.product_update(
            product=product,
            category=product.category,
            name=product.name,
            price=product.price,
            description=product.description,
            stock=product.stock,
            image=names["thumb"],
            variants=[
                catalog.VariantInput(name=v.name, price=v.price, stock=v.stock)
                for v in product.variants.all()
            ],
        )


def main() -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    for path in (settings.VAR_DIR, settings.MEDIA_ROOT):
        path.mkdir(parents=True, exist_ok=True)
    call_command("migrate", "--noinput", verbosity=0)
    from tapgo import demo
    from tapgo.catalog.models import Product

    info = demo.seed(history_days=0)  # the menu's figures need no past orders
    cafe = info["cafe"]
    if "--no-images" in sys.argv:
        Product.objects.filter(merchant=cafe.merchant).update(image="")
    else:
        _add_pictures(cafe.merchant)
    products = []
    for product in Product.objects.filter(merchant=cafe.merchant).prefetch_related("variants"):
        variants = [v.public_id for v in product.variants.all()]
        products.append({"id": product.public_id, "variant": variants[0] if variants else ""})
    json.dump({"slug": cafe.slug, "code": info["table1"].code, "products": products}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
