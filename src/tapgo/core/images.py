"""Uploaded images: checked by content, stripped of metadata, stored as resized WebP."""

import io
import secrets

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
THUMB_SIZE = 480  # px on the long side; a menu thumbnail stays well under 30 KB
LARGE_SIZE = 1280


class ImageRejected(ValueError):
    pass


def _encode(image: Image.Image, size: int, quality: int) -> bytes:
    copy = image.copy()
    copy.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # A fresh encode carries no EXIF, GPS or ICC metadata from the upload.
    copy.save(out, format="WEBP", quality=quality, method=4)
    return out.getvalue()


def image_store(upload, *, folder: str) -> dict[str, str]:
    """Validate an uploaded file and store it; returns storage names of 'thumb' and 'large'."""
    size = getattr(upload, "size", None)
    if size is None or size > MAX_BYTES:
        raise ImageRejected(_("The image is larger than 5 MB."))
    data = upload.read()
    if len(data) > MAX_BYTES:
        raise ImageRejected(_("The image is larger than 5 MB."))
    try:
        probe = Image.open(io.BytesIO(data))
        if probe.format not in ACCEPTED_FORMATS:
            raise ImageRejected(_("Upload a JPEG, PNG, WebP or GIF image."))
        if probe.width * probe.height > MAX_PIXELS:
            raise ImageRejected(_("The image has too many pixels."))
        probe.verify()
        image: Image.Image = Image.open(io.BytesIO(data))
        image.load()
    except ImageRejected:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ImageRejected(_("This file is not an image we can read.")) from None
    image = ImageOps.exif_transpose(image)
    image = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB")
    stem = f"{folder}/{secrets.token_hex(8)}"
    names = {}
    for key, px, quality in (("thumb", THUMB_SIZE, 70), ("large", LARGE_SIZE, 80)):
        names[key] = default_storage.save(
            f"{stem}-{key}.webp", ContentFile(_encode(image, px, quality))
        )
    return names
