"""Printable posters of entry codes: A4 and a table tent, as PNG and PDF, drawn with Pillow.

A poster carries the app's name (and logo when it has one) on a band of its brand colour, a
call to action ("Scan to order" / "扫码点单"), the code itself, what the code is for (the
table, the product, the code's name) and its address for typing. Its text is in the
language asked for: the console user's own, or en/zh-hans by the download's `lang`.

Sizes (portrait, 300 dpi, so every QR module is a whole number of printer dots):
  - a4: 210 × 297 mm (2480 × 3508 px), for a wall, a window or a flyer;
  - tent: 100 × 150 mm (1181 × 1772 px): the common 4 × 6 inch acrylic table-tent sign
    holder; two back to back make a two-sided tent, and it fits four to an A4 sheet.

The PDF holds the same picture, losslessly: the PNG's own compressed rows (IDAT) are the
PDF image's data (FlateDecode with PNG predictors), so a PDF costs the PNG and a few hundred
bytes, the page is exactly the paper's size, and the code area links to its URL.

Chinese needs a font that has its glyphs; fonts are never downloaded here (they run to
megabytes). The font is TAPGO_POSTER_FONT (a .ttf/.otf/.ttc path, optionally `#<face
index>` for a collection), else Noto Sans CJK SC found through fontconfig (`fc-match`;
Debian's package fonts-noto-cjk). A font that lacks the glyphs is not used: without one the
console says what to install rather than print boxes ("tofu").
"""

import io
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import translation
from django.utils.translation import gettext as _
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from tapgo.core import translations as texts
from tapgo.miniapps.models import EntryCode
from tapgo.miniapps.services import code_url, qr_image

DPI = 300
MM_PER_INCH = 25.4
SIZES = {"a4": (210, 297), "tent": (100, 150)}  # mm, portrait
FORMATS = ("png", "pdf")
LANGUAGES = ("en", "zh-hans")
FONT_FAMILY = "Noto Sans CJK SC"
# Text every poster may carry, in both languages: the font must draw all of it.
GLYPH_CHECK = "扫码点单桌号"
INK = (31, 41, 51)
MUTED = (97, 110, 124)
WHITE = (255, 255, 255)


class PosterError(ValueError):
    """A request for a poster that cannot be made as asked (size, format, language)."""


class PosterUnavailable(RuntimeError):
    """No font with Chinese glyphs on this server: say what to install."""


def unavailable_message() -> str:
    return _(
        "Posters need a font with Chinese characters, and this server has none. Install "
        "Noto Sans CJK (on Debian or Ubuntu: apt-get install fonts-noto-cjk) or set "
        "TAPGO_POSTER_FONT to a font file that has them, then restart Tapgo."
    )


# --- fonts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FontFile:
    path: str
    index: int = 0


def _parse_font_setting(value: str) -> FontFile:
    match = re.fullmatch(r"(.+?)(?:#(\d+))?", value.strip())
    if match is None:  # blank, or a line break in it: no font file, so no usable font
        return FontFile(value)
    return FontFile(match[1], int(match[2] or 0))


def _fc_match(pattern: str) -> FontFile | None:
    """fontconfig's best match for the pattern, if it is really that family (fc-match
    answers its nearest font, DejaVu say, when the family is not installed)."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    try:
        out = subprocess.run(  # noqa: S603 - a fixed program and pattern, no shell
            [fc_match, "-f", "%{file}\n%{index}\n%{family}", pattern],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    parts = out.split("\n")
    if len(parts) < 3 or FONT_FAMILY not in parts[2].split(","):
        return None
    return FontFile(parts[0], int(parts[1]) if parts[1].isdigit() else 0)


def _load(font: FontFile, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(
        font.path, size, index=font.index, layout_engine=ImageFont.Layout.BASIC
    )


def _glyph(font: ImageFont.FreeTypeFont, char: str) -> tuple:
    """What the font draws for a character: its box and its pixels."""
    box = font.getbbox(char)
    width, height = max(1, int(box[2] - box[0])), max(1, int(box[3] - box[1]))
    image = Image.new("L", (width, height))
    ImageDraw.Draw(image).text((-box[0], -box[1]), char, font=font, fill=255)
    return box, image.tobytes()


def missing_glyphs(font: ImageFont.FreeTypeFont, text: str) -> list[str]:
    """The characters of `text` the font has no glyph for: drawn, they come out as the
    font's missing-glyph box (.notdef), or as nothing at all."""
    notdef = _glyph(font, "\U000ffffd")  # a private-use character no font maps
    missing = []
    for char in dict.fromkeys(text):
        if char.isspace():
            continue
        drawn = _glyph(font, char)
        if drawn == notdef or not any(drawn[1]):
            missing.append(char)
    return missing


def _usable(font: FontFile) -> bool:
    try:
        return not missing_glyphs(_load(font, 48), GLYPH_CHECK)
    except OSError:
        return False


@lru_cache(maxsize=4)
def _discover(setting: str) -> tuple[FontFile, FontFile] | None:
    if setting:
        chosen = _parse_font_setting(setting)
        return (chosen, chosen) if _usable(chosen) else None
    regular = _fc_match(f"{FONT_FAMILY}:style=Regular")
    if regular is None or not _usable(regular):
        return None
    bold = _fc_match(f"{FONT_FAMILY}:style=Bold")
    return regular, bold if bold is not None and _usable(bold) else regular


def fonts() -> tuple[FontFile, FontFile] | None:
    """(regular, bold) font files that draw Chinese, or None (see unavailable_message)."""
    return _discover(getattr(settings, "POSTER_FONT", ""))


def available() -> bool:
    return fonts() is not None


@lru_cache(maxsize=64)
def _font(font: FontFile, size: int) -> ImageFont.FreeTypeFont:
    return _load(font, size)


# --- drawing ---------------------------------------------------------------------------------


def pixels(size: str) -> tuple[int, int]:
    width_mm, height_mm = SIZES[size]
    return round(width_mm / MM_PER_INCH * DPI), round(height_mm / MM_PER_INCH * DPI)


def _hex(color: str) -> tuple[int, int, int]:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", color or ""):
        return (15, 118, 110)
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _luminance(color: tuple[int, int, int]) -> float:
    """WCAG relative luminance."""

    def channel(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in color)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _on(background: tuple[int, int, int]) -> tuple[int, int, int]:
    """White or ink, whichever has the higher contrast on the background."""
    lum = _luminance(background)
    white = 1.05 / (lum + 0.05)
    ink = (lum + 0.05) / (_luminance(INK) + 0.05)
    return WHITE if white >= ink else INK


_CJK_RANGES = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK = re.compile(f"[{_CJK_RANGES}]")
_CJK_OR_RUN = re.compile(f"[{_CJK_RANGES}]|[^{_CJK_RANGES}]+")


def _tokens(text: str) -> list[str]:
    """Break points for wrapping: between words, and between any two CJK characters."""
    tokens: list[str] = []
    for word in re.split(r"(\s+)", text):
        if word:
            tokens.extend(_CJK_OR_RUN.findall(word) if _CJK.search(word) else [word])
    return tokens


def _wrap(text: str, font, width: int, lines: int) -> list[str] | None:
    """The text in at most `lines` lines of at most `width` px, or None if it does not fit."""
    out, line = [], ""
    for token in _tokens(text):
        candidate = line + token
        if font.getlength(candidate.strip()) <= width:
            line = candidate
            continue
        if line.strip():
            out.append(line.strip())
        line = token.lstrip()
        if font.getlength(line) > width:
            return None
    if line.strip():
        out.append(line.strip())
    return out if len(out) <= lines else None


def _fit(
    text: str, font: FontFile, *, size: int, width: int, lines: int = 1, smallest: float = 0.4
) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """(font, lines): the largest size from `size` down to `smallest` of it at which the
    text fits; at the smallest, what fits with an ellipsis."""
    floor = max(8, int(size * smallest))
    current = size
    while current >= floor:
        face = _font(font, current)
        wrapped = _wrap(text, face, width, lines)
        if wrapped is not None:
            return face, wrapped
        current = int(current * 0.92)
    face = _font(font, floor)
    cut = text
    while cut and face.getlength(cut + "…") > width:
        cut = cut[:-1]
    return face, [cut.rstrip() + "…"]


def _logo(app, side: int) -> Image.Image | None:
    """The app's logo, square, with rounded corners; None without one (or if unreadable)."""
    if not app.logo:
        return None
    try:
        with default_storage.open(app.logo, "rb") as handle:
            image: Image.Image = Image.open(io.BytesIO(handle.read()))
            image.load()
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    image = ImageOps.fit(image.convert("RGBA"), (side, side), Image.Resampling.LANCZOS)
    mask = Image.new("L", (side, side), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, side - 1, side - 1), radius=side // 5, fill=255)
    image.putalpha(Image.composite(image.getchannel("A"), mask, mask))
    return image


def label_of(entry: EntryCode) -> str:
    """What the code is for, as the poster says it."""
    if entry.kind == EntryCode.Kind.TABLE:
        return _("Table %(label)s") % {"label": entry.table_label}
    if entry.name:
        return entry.name
    if entry.kind == EntryCode.Kind.PRODUCT and entry.product is not None:
        return texts.of(entry.product, "name")  # in the language being served
    return ""


@dataclass
class _Text:
    face: ImageFont.FreeTypeFont
    lines: list[str]
    color: tuple

    def height(self) -> int:
        ascent, descent = self.face.getmetrics()
        return len(self.lines) * int((ascent + descent) * 1.1)

    def draw(self, draw: ImageDraw.ImageDraw, center_x: int, top: int) -> int:
        ascent, descent = self.face.getmetrics()
        step = int((ascent + descent) * 1.1)
        for line in self.lines:
            draw.text((center_x, top + ascent), line, font=self.face, fill=self.color, anchor="ms")
            top += step
        return top


def render(entry: EntryCode, *, size: str, language: str) -> Image.Image:
    """The poster as an RGB image at 300 dpi. The entry needs its app (select_related)."""
    if size not in SIZES:
        raise PosterError(_("Choose a poster size: A4 or table tent."))
    if language not in LANGUAGES:
        raise PosterError(_("Choose a poster language: English or Simplified Chinese."))
    found = fonts()
    if found is None:
        raise PosterUnavailable(unavailable_message())
    regular, bold = found
    app = entry.app
    width, height = pixels(size)
    unit = width / 100  # 1% of the width: the layout scales with the paper
    brand = _hex(app.brand_color)
    on_brand = _on(brand)
    inner = int(width - 16 * unit)

    with translation.override(language):
        call = _("Scan to order")
        hint = _("Opens in your phone's browser: nothing to install.")
        label = label_of(entry)
        app_name = texts.of(app, "name")

    image = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(image)

    # The band: logo, then the app's name (up to two lines).
    logo = _logo(app, int(22 * unit))
    name = _Text(*_fit(app_name, bold, size=int(9 * unit), width=inner, lines=2), on_brand)
    pad = int(6 * unit)
    band = pad + (logo.height + int(3 * unit) if logo else 0) + name.height() + pad
    draw.rectangle((0, 0, width, band), fill=brand)
    top = pad
    if logo is not None:
        image.paste(logo, ((width - logo.width) // 2, top), logo)
        top += logo.height + int(3 * unit)
    name.draw(draw, width // 2, top)

    # The call to action, the code, what it is for, how to type it.
    cta = _Text(*_fit(call, bold, size=int(10 * unit), width=inner), INK)
    tag = _Text(*_fit(label, bold, size=int(7 * unit), width=inner), brand) if label else None
    note = _Text(*_fit(hint, regular, size=int(3.4 * unit), width=inner, lines=2), MUTED)
    url = _Text(*_fit(code_url(entry), regular, size=int(3 * unit), width=inner), MUTED)
    gap = int(4 * unit)
    below = (tag.height() + gap if tag else 0) + note.height() + url.height() + gap
    top = band + gap
    top = cta.draw(draw, width // 2, top) + gap // 2
    side = min(int(76 * unit), height - top - below - gap)
    code = qr_image(entry, side).convert("RGB")
    qr_box = ((width - side) // 2, top, (width + side) // 2, top + side)
    image.paste(code, qr_box[:2])
    top += side + gap // 2
    if tag is not None:
        top = tag.draw(draw, width // 2, top) + gap // 2
    top = note.draw(draw, width // 2, top)
    url.draw(draw, width // 2, top)
    image.info["qr_box"] = qr_box
    return image


def png(entry: EntryCode, *, size: str, language: str) -> bytes:
    return _png_bytes(render(entry, size=size, language=language))


def _png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(DPI, DPI), compress_level=6)
    return out.getvalue()


def pdf(entry: EntryCode, *, size: str, language: str) -> bytes:
    image = render(entry, size=size, language=language)
    return pdf_from_png(
        _png_bytes(image),
        size_mm=SIZES[size],
        link=(code_url(entry), image.info["qr_box"]),
        title=f"{entry.app.name} · {entry.code}",
    )


# --- PDF -------------------------------------------------------------------------------------


def _png_parts(data: bytes) -> tuple[int, int, bytes]:
    """(width, height, the compressed rows) of an 8-bit RGB, non-interlaced PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    at, idat, header = 8, [], None
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        body = data[at + 8 : at + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        at += 12 + length
    if header is None or header[2:] != (8, 2, 0, 0, 0):
        raise ValueError("the PNG is not 8-bit RGB without interlacing")
    return header[0], header[1], b"".join(idat)


def _pdf_literal(text: str) -> bytes:
    """ASCII text as the inside of a PDF literal string (a URL: ours, ASCII)."""
    raw = text.encode("ascii", "ignore")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _pdf_text(text: str) -> bytes:
    """A PDF text string: UTF-16BE with its byte-order mark, as hex."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">"


def pdf_from_png(
    data: bytes, *, size_mm: tuple[int, int], link: tuple[str, tuple] | None = None, title=""
) -> bytes:
    """A one-page PDF of exactly size_mm showing the PNG (its rows used as they are)."""
    width, height, rows = _png_parts(data)
    page_w, page_h = (round(mm / MM_PER_INCH * 72, 3) for mm in size_mm)
    annots = b""
    if link is not None:
        url, (left, top, right, bottom) = link
        sx, sy = page_w / width, page_h / height
        rect = (
            f"{left * sx:.2f} {page_h - bottom * sy:.2f} {right * sx:.2f} {page_h - top * sy:.2f}"
        )
        annots = (
            b" /Annots [<< /Type /Annot /Subtype /Link /Border [0 0 0] /Rect ["
            + rect.encode()
            + b"] /A << /S /URI /URI ("
            + _pdf_literal(url)
            + b") >> >>]"
        )
    content = f"q {page_w} 0 0 {page_h} 0 0 cm /Im0 Do Q".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {page_w} {page_h}] "
            "/Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R"
        ).encode()
        + annots
        + b" >>",
        (
            f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} "
            "/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode "
            f"/DecodeParms << /Predictor 15 /Colors 3 /BitsPerComponent 8 /Columns {width} >> "
            f"/Length {len(rows)} >>\nstream\n"
        ).encode()
        + rows
        + b"\nendstream",
        f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream",
        b"<< /Producer (Tapgo) /Title " + _pdf_text(title) + b" >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)
