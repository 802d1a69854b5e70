"""An entry code's URL as a QR symbol: SVG for the console, PNG in print sizes."""

import io
from functools import lru_cache

import segno
from django.utils.translation import gettext as _
from PIL import Image

from tapgo.core.urls import absolute_url
from tapgo.miniapps.models import EntryCode
from tapgo.miniapps.services.apps import MiniAppError


def code_url(entry: EntryCode) -> str:
    return absolute_url("shell:scan", entry.code)


def _qr(entry: EntryCode):
    return _qr_of(code_url(entry))


@lru_cache(maxsize=2048)
def _qr_of(url: str):
    """The QR symbol of a URL (segno picks the best of eight masks: three quarters of the
    cost), remembered: the console shows and prints the same codes again and again."""
    return segno.make(url, error="m")


# Modules of quiet zone on every side of every code we draw, as ISO/IEC 18004 asks.
QR_BORDER = 4


def code_svg(entry: EntryCode, *, scale: int = 4, omitsize: bool = False) -> bytes:
    """The code as SVG; omitsize gives a viewBox instead of a fixed size (scales with CSS)."""
    out = io.BytesIO()
    _qr(entry).save(
        out, kind="svg", scale=scale, border=QR_BORDER, xmldecl=False, omitsize=omitsize
    )
    return out.getvalue()


# PNG sizes offered for download, in pixels a side: a screen or a slide, a printed flyer, a
# poster. 1024 px at 300 dpi prints 8.7 cm wide.
PNG_SIZES = (256, 1024, 2048)
PNG_DEFAULT_SIZE = 1024


def qr_image(entry: EntryCode, size: int) -> Image.Image:
    """The code as a 1-bit image exactly `size` pixels a side: whole pixels per module (so a
    scanner sees crisp modules), the rest of the side added to the quiet zone."""
    matrix = _qr(entry).matrix
    modules = len(matrix)
    scale = size // (modules + 2 * QR_BORDER)
    if scale < 1:
        raise MiniAppError(_("That size is too small for this code."))
    data = bytes(0 if bit else 255 for row in matrix for bit in row)
    symbol = Image.frombytes("L", (modules, modules), data).convert("1")
    symbol = symbol.resize((modules * scale, modules * scale), Image.Resampling.NEAREST)
    image = Image.new("1", (size, size), 1)
    offset = (size - modules * scale) // 2
    image.paste(symbol, (offset, offset))
    return image


def code_png(entry: EntryCode, *, size: int = PNG_DEFAULT_SIZE) -> bytes:
    """The code as a PNG of one of PNG_SIZES pixels a side (1-bit: small and lossless)."""
    if size not in PNG_SIZES:
        raise MiniAppError(_("Choose a size of %(sizes)s pixels.") % {"sizes": _sizes_text()})
    out = io.BytesIO()
    qr_image(entry, size).save(out, format="PNG", optimize=False)
    return out.getvalue()


def _sizes_text() -> str:
    return ", ".join(str(s) for s in PNG_SIZES)
