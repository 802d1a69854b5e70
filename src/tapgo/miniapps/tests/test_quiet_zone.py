"""Every QR code Tapgo draws keeps the quiet zone ISO/IEC 18004 asks for: four modules of
light on every side (scanners miss a code printed on a busy background without it)."""

import io
import re

import pytest
from django.urls import reverse
from PIL import Image

from tapgo.miniapps import posters, services
from tapgo.shell.views.member import member_qr
from tapgo.shell.views.sharing import _qr_svg

QUIET = 4


def svg_quiet_zone(svg: str) -> int:
    """The narrowest light margin of a segno SVG, in modules: its path draws dark runs with
    `M x y`, `m dx dy` and `h n` at scale 1 (the transform scales them)."""
    scale = float(re.search(r'transform="scale\(([\d.]+)\)"', svg)[1])
    size = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg) or re.search(
        r'width="([\d.]+)" height="([\d.]+)"', svg
    )
    side = float(size[1]) / scale
    path = re.search(r' d="([^"]+)"', svg)[1]
    x = y = 0.0
    left = top = float("inf")
    right = bottom = float("-inf")
    for command, a, b in re.findall(r"([MmHh])(-?[\d.]+)(?:\s(-?[\d.]+))?", path):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:  # a dark run from x, half a module thick around y
            run = float(a) if command == "h" else float(a) - x
            left, right = min(left, x), max(right, x + run)
            top, bottom = min(top, y - 0.5), max(bottom, y + 0.5)
            x += run
    return round(min(left, top, side - right, side - bottom))


def png_quiet_zone(image: Image.Image, modules: int) -> float:
    """The narrowest light margin of a code's picture, in modules (of the dark box's side)."""
    gray = image.convert("L")
    box = gray.point(lambda v: 255 if v < 128 else 0).getbbox()
    assert box is not None
    module = (box[2] - box[0]) / modules
    width, height = gray.size
    margins = (box[0], box[1], width - box[2], height - box[3])
    return min(margins) / module


def modules_of(entry) -> int:
    return len(services.qr._qr(entry).matrix)


@pytest.mark.parametrize("omitsize", [False, True])
def test_the_console_svg_has_four_modules_of_quiet_zone(app, omitsize):
    entry = app.codes.first()
    svg = services.code_svg(entry, omitsize=omitsize).decode()
    assert svg_quiet_zone(svg) >= QUIET


def test_the_downloaded_svg_has_four_modules_of_quiet_zone(client, owner, merchant, app):
    client.force_login(owner)
    entry = app.codes.first()
    svg = client.get(reverse("console:code_svg", args=[merchant.public_id, entry.code]))
    assert svg.status_code == 200
    assert svg_quiet_zone(svg.content.decode()) >= QUIET


@pytest.mark.parametrize("size", services.PNG_SIZES)
def test_the_pngs_have_four_modules_of_quiet_zone(app, size):
    entry = app.codes.first()
    image = Image.open(io.BytesIO(services.code_png(entry, size=size)))
    assert image.size == (size, size)
    assert png_quiet_zone(image, modules_of(entry)) >= QUIET


@pytest.mark.skipif(not posters.available(), reason="no CJK font: posters are unavailable")
@pytest.mark.parametrize("size", posters.SIZES)
def test_the_posters_code_has_four_modules_of_quiet_zone(app, size):
    entry = app.codes.select_related("app").first()
    image = posters.render(entry, size=size, language="en")
    code = image.crop(image.info["qr_box"])
    assert png_quiet_zone(code, modules_of(entry)) >= QUIET


def test_the_share_pages_and_the_member_codes_svg_have_four_modules_of_quiet_zone():
    assert svg_quiet_zone(_qr_svg("http://127.0.0.1:8000/m/test-cafe/?sh=abc")) >= QUIET
    assert svg_quiet_zone(member_qr("c_0123456789abcdef")) >= QUIET
