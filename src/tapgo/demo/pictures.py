"""Pictures of the demo's products, drawn with Pillow: a cup, a glass, a croissant, a loaf…
on a soft background of the product's colour, stored like an upload (core/images.py)."""

import io
import random

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from tapgo.core.images import image_store

SIZE = 480


def _mix(colour, other, share: float) -> tuple[int, int, int]:
    r, g, b = (round(c + (o - c) * share) for c, o in zip(colour, other, strict=True))
    return (r, g, b)


def _lighter(colour, share=0.35):
    return _mix(colour, (255, 255, 255), share)


def _darker(colour, share=0.35):
    return _mix(colour, (0, 0, 0), share)


def _cup(d: ImageDraw.ImageDraw, c, rnd) -> None:
    d.ellipse((70, 330, 410, 420), fill=(250, 250, 250), outline=(215, 215, 215), width=4)
    d.rounded_rectangle((130, 170, 330, 360), radius=50, fill=(255, 255, 255))
    d.ellipse((300, 210, 390, 300), outline=(255, 255, 255), width=20)
    d.ellipse((130, 140, 330, 210), fill=(236, 236, 236))
    d.ellipse((145, 148, 315, 202), fill=c)
    # latte art: a little heart of foam
    d.ellipse((205, 158, 235, 184), fill=_lighter(c, 0.7))
    d.ellipse((225, 158, 255, 184), fill=_lighter(c, 0.7))
    d.polygon([(207, 176), (253, 176), (230, 196)], fill=_lighter(c, 0.7))


def _glass(d, c, rnd) -> None:
    d.polygon([(160, 110), (320, 110), (300, 400), (180, 400)], fill=(245, 245, 245))
    d.polygon([(168, 170), (312, 170), (298, 392), (182, 392)], fill=c)
    for _ in range(9):  # pearls
        x, y = rnd.randint(195, 275), rnd.randint(340, 380)
        d.ellipse((x, y, x + 18, y + 18), fill=(50, 30, 20))
    d.rectangle((250, 60, 262, 200), fill=(230, 80, 80))


def _teapot(d, c, rnd) -> None:
    d.ellipse((120, 170, 360, 390), fill=c)
    d.ellipse((200, 140, 280, 190), fill=_darker(c, 0.2))
    d.polygon([(350, 250), (430, 190), (440, 205), (360, 300)], fill=c)
    d.arc((60, 200, 160, 320), 90, 270, fill=_darker(c, 0.2), width=18)
    d.ellipse((225, 120, 255, 150), fill=_darker(c, 0.3))


def _croissant(d, c, rnd) -> None:
    for i, (x, w) in enumerate(((90, 90), (160, 110), (240, 110), (320, 90))):
        top = 190 + abs(1.5 - i) * 40
        d.ellipse((x, top, x + w, top + 120), fill=_darker(c, 0.08 * (i % 2)), outline=_darker(c))
    d.ellipse((60, 280, 130, 330), fill=_darker(c, 0.15))
    d.ellipse((350, 280, 420, 330), fill=_darker(c, 0.15))


def _loaf(d, c, rnd) -> None:
    d.rounded_rectangle((80, 200, 400, 360), radius=70, fill=c)
    d.ellipse((80, 150, 400, 290), fill=_lighter(c, 0.1))
    for x in (150, 220, 290):
        d.line((x, 190, x + 50, 250), fill=_lighter(c, 0.45), width=10)


def _baguette(d, c, rnd) -> None:
    d.rounded_rectangle((40, 200, 440, 290), radius=45, fill=c)
    for x in range(90, 400, 70):
        d.line((x, 215, x + 40, 270), fill=_lighter(c, 0.45), width=9)


def _sandwich(d, c, rnd) -> None:
    d.polygon([(90, 360), (390, 360), (240, 120)], fill=(250, 236, 200))
    d.polygon([(110, 330), (370, 330), (240, 150)], fill=c)
    d.polygon([(90, 360), (390, 360), (385, 380), (95, 380)], fill=(150, 200, 90))


def _cake(d, c, rnd) -> None:
    d.polygon([(100, 330), (380, 330), (380, 230), (150, 190)], fill=c)
    d.polygon([(100, 330), (380, 330), (380, 360), (100, 360)], fill=_darker(c, 0.3))
    d.ellipse((300, 170, 350, 220), fill=(200, 40, 60))


def _tart(d, c, rnd) -> None:
    d.ellipse((100, 170, 380, 360), fill=(220, 160, 80))
    d.ellipse((130, 190, 350, 330), fill=c)
    for _ in range(4):
        x, y = rnd.randint(170, 290), rnd.randint(220, 280)
        d.ellipse((x, y, x + 30, y + 20), fill=_darker(c, 0.25))


def _bun(d, c, rnd) -> None:
    d.ellipse((100, 150, 380, 380), fill=c)
    for k in range(-3, 4):
        d.line((150 + k * 40, 170, 250 + k * 40, 370), fill=_darker(c, 0.2), width=6)
        d.line((250 + k * 40, 170, 150 + k * 40, 370), fill=_darker(c, 0.2), width=6)


DRAWINGS = {
    "cup": _cup,
    "glass": _glass,
    "teapot": _teapot,
    "croissant": _croissant,
    "loaf": _loaf,
    "baguette": _baguette,
    "sandwich": _sandwich,
    "cake": _cake,
    "tart": _tart,
    "bun": _bun,
}


def draw(kind: str, colour: tuple[int, int, int], *, seed: str) -> bytes:
    """A PNG of the drawing `kind` in `colour` (the same seed, the same picture)."""
    rnd = random.Random(seed)
    background = _mix(colour, (255, 250, 240), 0.82)
    image = Image.new("RGB", (SIZE, SIZE), background)
    d = ImageDraw.Draw(image)
    d.ellipse((40, 40, SIZE - 40, SIZE - 40), fill=_mix(colour, (255, 250, 240), 0.7))
    DRAWINGS[kind](d, colour, rnd)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def store(kind: str, colour: tuple[int, int, int], *, seed: str, folder: str) -> str:
    """Draw the picture and store it as an upload is stored; its thumbnail's storage name."""
    data = draw(kind, colour, seed=seed)
    upload = SimpleUploadedFile(f"{seed}.png", data, content_type="image/png")
    return image_store(upload, folder=folder)["thumb"]
