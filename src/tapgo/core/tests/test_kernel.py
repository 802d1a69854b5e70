import io
import os
import subprocess
import sys

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image

from tapgo.core import images
from tapgo.core.ids import ALPHABET, is_public_id, new_public_id
from tapgo.core.money import MoneyError, format_money, parse_amount


def test_public_ids_are_random_and_opaque():
    ids = {new_public_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(is_public_id(i) and set(i) <= set(ALPHABET) for i in ids)


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("26", "CNY", 2600), ("26.5", "CNY", 2650), ("0.01", "USD", 1), ("1,200", "JPY", 1200)],
)
def test_parse_amount_is_exact(text, currency, minor):
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    "text", ["", "abc", "1.001", "NaN", "inf", "1e400000", "1e5000000", "-1e999999999"]
)
def test_parse_amount_refuses_what_is_not_money(text):
    with pytest.raises(MoneyError):
        parse_amount(text, "CNY")


def test_money_is_formatted_by_language():
    assert format_money(2650, "CNY", "zh_Hans_CN") == "¥26.50"
    assert format_money(2650, "CNY", "en") == "CN¥26.50"
    assert format_money(500, "JPY", "en") == "¥500"


def _png(size=(800, 600), exif=True) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, (200, 120, 40))
    kwargs = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"  # Make
        kwargs["exif"] = data.tobytes()
    image.save(out, format="JPEG", **kwargs)
    return out.getvalue()


def test_images_are_checked_by_content_and_stored_as_small_webp(settings, tmp_path):
    upload = SimpleUploadedFile("photo.jpg", _png(), content_type="image/jpeg")
    names = images.image_store(upload, folder="t")
    thumb = settings.MEDIA_ROOT / names["thumb"]
    assert thumb.suffix == ".webp" and thumb.stat().st_size < 30_000
    stored = Image.open(thumb)
    assert stored.format == "WEBP" and max(stored.size) <= images.THUMB_SIZE
    assert b"SecretCam" not in thumb.read_bytes()


@pytest.mark.parametrize(
    "content",
    [b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, b"GIF89a garbage"],
)
def test_what_is_not_an_image_is_refused(content):
    with pytest.raises(images.ImageRejected):
        images.image_store(SimpleUploadedFile("x.png", content), folder="t")


def test_an_image_over_5_mb_is_refused():
    big = SimpleUploadedFile("big.jpg", b"\xff\xd8" + b"0" * (5 * 1024 * 1024 + 1))
    with pytest.raises(images.ImageRejected, match="5 MB"):
        images.image_store(big, folder="t")


@pytest.mark.django_db
def test_every_response_carries_a_strict_csp_and_security_headers(client):
    response = client.get("/nowhere-at-all")
    assert response.status_code == 404
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert "Permissions-Policy" in response


@pytest.mark.django_db
def test_media_view_serves_only_inside_media_root(client, settings):
    (settings.MEDIA_ROOT).mkdir(parents=True, exist_ok=True)
    (settings.MEDIA_ROOT / "a.webp").write_bytes(b"RIFF")
    assert client.get("/media/a.webp").status_code == 200
    assert client.get("/media/../settings.py").status_code == 404
    assert client.get("/media/%2e%2e/%2e%2e/etc/passwd").status_code == 404


def test_production_refuses_the_demo_secret_key():
    env = dict(os.environ, TAPGO_PRODUCTION="1", DJANGO_SETTINGS_MODULE="tapgo.settings")
    env.pop("TAPGO_SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "refuses to start with the demo key" in result.stderr
    env["TAPGO_SECRET_KEY"] = "x" * 50
    env["TAPGO_ALLOWED_HOSTS"] = "tapgo.example"
    ok = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr


@pytest.mark.django_db
def test_demo_seed_is_idempotent():
    from tapgo import demo
    from tapgo.catalog.models import Product
    from tapgo.miniapps.models import EntryCode, MiniApp

    with override_settings(PUBLIC_URL="http://example.test"):
        demo.seed(history_days=0)
        counts = (MiniApp.objects.count(), Product.objects.count(), EntryCode.objects.count())
        demo.seed(history_days=0)
    assert counts == (MiniApp.objects.count(), Product.objects.count(), EntryCode.objects.count())
    cafe = MiniApp.objects.get(slug="harbour-cafe")
    assert Product.objects.filter(merchant=cafe.merchant).count() >= 12
    assert EntryCode.objects.filter(app=cafe, kind="table").count() == 12
    assert MiniApp.objects.count() == 2


def test_the_cache_is_redis_exactly_when_configured(settings):
    from django.core.cache import cache

    backend = settings.CACHES["default"]["BACKEND"]
    if os.environ.get("TAPGO_REDIS_URL"):
        assert backend.endswith("RedisCache")
    else:
        assert backend.endswith("LocMemCache")
    cache.set("tapgo-probe", {"n": 1}, 5)
    assert cache.get("tapgo-probe") == {"n": 1}


@pytest.mark.django_db
def test_media_view_answers_404_for_absurd_names(client):
    assert client.get("/media/" + "a" * 5000).status_code == 404
    assert client.get("/media/a%00b").status_code == 404
