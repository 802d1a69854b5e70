"""Link-preview cards: the 1200 × 630 JPEG a chat app shows for a shared link (Open Graph's
convention; several chat apps' crawlers show no WebP, and a thumbnail shows small).

A card carries a picture (a product's photo, an article's cover, the app's cover or logo)
on its left, and on its right the shop's name in its brand colour above what is shared (the
product's name, the article's title, the app's description). Without a picture the left is
the brand colour with the shop's first letter. Text is drawn with the posters' fonts
(Chinese included, posters.fonts()); on a server without them the card has its picture and
colours but no text, rather than boxes ("tofu").

Cards are drawn on demand and remembered: `render` keeps the last CARDS_KEPT cards in memory
(lru_cache: thread-safe), at most DRAWING of them are drawn at once (a burst of crawlers
waits its turn rather than taking every core), and the card's URL carries `Card.version()`
so a changed name or picture is a new address for chat apps' caches.
"""

import hashlib
import io
import logging
import threading
from dataclasses import dataclass
from functools import lru_cache

from django.core.files.storage import default_storage
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from tapgo.miniapps import posters

log = logging.getLogger(__name__)

SIZE = (1200, 630)  # Open Graph's large card, 1.91:1
CONTENT_TYPE = "image/jpeg"
PICTURE_WIDTH = 600
MARGIN = 56
BAR = 14  # the brand-colour bar along the bottom
CARDS_KEPT = 32  # about 100 KB each
DRAWING = 2
MAX_PICTURE_BYTES = 8 * 1024 * 1024
MAX_PICTURE_PIXELS = 40_000_000

_drawing = threading.BoundedSemaphore(DRAWING)


@dataclass(frozen=True)
class Card:
    shop: str  # the shop's (the app's) name
    title: str  # what is shared: a product's name, an article's title, the app's description
    picture: str = ""  # a stored image's name, or none
    color: str = "#0f766e"  # the brand colour, #rrggbb

    def version(self) -> str:
        """A short fingerprint of what the card shows: part of its URL, so a change is a new
        address for the chat apps that keep a preview."""
        text = "\x1f".join((self.shop, self.title, self.picture, self.color, str(SIZE)))
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def render(card: Card) -> bytes:
    """The card as a JPEG of SIZE pixels."""
    return _render(card)


@lru_cache(maxsize=CARDS_KEPT)
def _render(card: Card) -> bytes:
    with _drawing:
        return _draw(card)


def _larger(name: str) -> str:
    """The larger stored variant of an uploaded image when there is one (core.images keeps
    <stem>-thumb.webp and <stem>-large.webp)."""
    if name.endswith("-thumb.webp"):
        large = name[: -len("-thumb.webp")] + "-large.webp"
        try:
            if default_storage.exists(large):
                return large
        except (OSError, ValueError):
            pass
    return name


def _picture(name: str) -> Image.Image | None:
    if not name:
        return None
    try:
        with default_storage.open(_larger(name), "rb") as handle:
            data = handle.read(MAX_PICTURE_BYTES + 1)
        if len(data) > MAX_PICTURE_BYTES:
            return None
        image: Image.Image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PICTURE_PIXELS:
            return None
        image.load()
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        log.warning("the preview card cannot read the picture %r", name)
        return None
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        backdrop = Image.new("RGB", rgba.size, posters.WHITE)
        backdrop.paste(rgba, mask=rgba.getchannel("A"))
        return backdrop
    return image.convert("RGB")


def _contrast_on_white(color: tuple[int, int, int]) -> float:
    return 1.05 / (posters._luminance(color) + 0.05)


def _draw(card: Card) -> bytes:
    width, height = SIZE
    brand = posters._hex(card.color)
    image = Image.new("RGB", SIZE, posters.WHITE)
    draw = ImageDraw.Draw(image)
    found = posters.fonts()

    picture = _picture(card.picture)
    if picture is not None:
        fitted = ImageOps.fit(picture, (PICTURE_WIDTH, height), Image.Resampling.LANCZOS)
        image.paste(fitted, (0, 0))
    else:
        draw.rectangle((0, 0, PICTURE_WIDTH, height), fill=brand)
        initial = card.shop.strip()[:1].upper()
        if found is not None and initial:
            face = posters._font(found[1], 300)
            draw.text(
                (PICTURE_WIDTH // 2, height // 2),
                initial,
                font=face,
                fill=posters._on(brand),
                anchor="mm",
            )
    draw.rectangle((0, height - BAR, width, height), fill=brand)

    if found is not None:
        regular, bold = found
        text_width = width - PICTURE_WIDTH - 2 * MARGIN
        shop_color = brand if _contrast_on_white(brand) >= 3 else posters.INK
        blocks = [
            posters._fit(card.shop, bold, size=44, width=text_width, lines=2) + (shop_color,),
        ]
        if card.title:
            blocks.append(
                posters._fit(card.title, bold, size=72, width=text_width, lines=3) + (posters.INK,)
            )
        gap = 28

        def step(face) -> int:
            ascent, descent = face.getmetrics()
            return int((ascent + descent) * 1.12)

        total = sum(step(face) * len(lines) for face, lines, _c in blocks) + gap * (len(blocks) - 1)
        top = max(MARGIN, (height - BAR - total) // 2)
        left = PICTURE_WIDTH + MARGIN
        for face, lines, color in blocks:
            ascent, _descent = face.getmetrics()
            for line in lines:
                draw.text((left, top + ascent), line, font=face, fill=color, anchor="ls")
                top += step(face)
            top += gap

    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue()
