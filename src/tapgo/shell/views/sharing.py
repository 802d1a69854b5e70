"""Chat sharing: the customer's link to a page of a mini app, and the rich previews chat apps
show for such a link.

The share action (the menu's Share, a product's share button) opens /m/<slug>/share?path=…:

- without JavaScript, a page with the customer's link to copy and a QR code of it;
- with JavaScript (shell.js), the same endpoint answers JSON and the link goes to the Web
  Share API where the browser has one, else to the clipboard.

The link is the page's own address on the public base with `?sh=<token>`, the customer's
share link for this app (miniapps.share_link_for): a visit that comes through it is recorded
with scene `share` and credited to the sharer (base.record_entry), and so are the new
customers and orders it brings. Only a page of the same app anyone may open can be shared;
any other path gives the app's home (no open redirect, no other app, no order page).

Previews: Open Graph and Twitter card tags from og_tags(), rendered by shell/_og.html through
the `sharing` template tags (shell/templatetags/sharing.py). The menu page's tags live in its cached
skeleton, so they depend on the app alone, never on the request: every URL in them is built
on settings.PUBLIC_URL.
"""

import io
import re
from functools import lru_cache
from urllib.parse import quote, urlencode

import segno
from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from PIL import Image, ImageDraw

from tapgo.core import translations as texts
from tapgo.core.bots import is_bot
from tapgo.identity.middleware import ensure_customer
from tapgo.miniapps import services as miniapps
from tapgo.shell import page
from tapgo.shell import state as shell_state
from tapgo.shell.views.base import frame

# The pages of a mini app anyone may open (url names in the shell): what can be shared.
SHAREABLE = {"app", "product", "article", "articles"}
MAX_PATH = 400
SAFE_PATH = re.compile(r"/[A-Za-z0-9/_.~-]*")
COLOR = re.compile(r"[0-9a-f]{6}")
IMAGE_SIZE = (1200, 630)  # what chat apps show as a large card (1.91:1)
MAX_DESCRIPTION = 200


def share_target(slug: str, path) -> str:
    """The path of the page of this app that `path` names (its query dropped), or the app's
    home when it names anything else: another app, another site, a private page."""
    home = reverse("shell:app", args=[slug])
    if not isinstance(path, str) or len(path) > MAX_PATH:
        return home
    path = path.split("?", 1)[0].split("#", 1)[0]
    if (
        not SAFE_PATH.fullmatch(path)
        or not path.startswith(home)
        or "//" in path
        or "/./" in path
        or "/../" in path
        or path.endswith(("/.", "/.."))
    ):
        return home
    try:
        match = resolve(path)
    except Resolver404:
        return home
    if (
        match.namespace != "shell"
        or match.url_name not in SHAREABLE
        or match.kwargs.get("slug") != slug
    ):
        return home
    return path


def shared_url(path: str, token: str) -> str:
    """The link a customer sends: the page on the public base, with their share token."""
    return settings.PUBLIC_URL + quote(path, safe="/") + "?" + urlencode({"sh": token})


def _qr_svg(url: str) -> str:
    """The link as an inline SVG (segno's own markup of a URL we built: no user text)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(
        out, kind="svg", scale=5, border=2, xmldecl=False, svgclass="qr"
    )
    return mark_safe(out.getvalue().decode())  # noqa: S308


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@require_GET
@shell_state.keeps
def share(request, slug: str):
    """The customer's link to a page of this app (?path=), as JSON or as a page."""
    app = miniapps.live_app(slug)
    if is_bot(request):  # a link preview or a crawler makes no guest and no share link
        raise Http404
    customer = ensure_customer(request)
    link = miniapps.share_link_for(app=app, customer=customer)
    target = share_target(app.slug, request.GET.get("path"))
    url = shared_url(target, link.token)
    response: HttpResponse
    if _wants_json(request):
        response = JsonResponse({"url": url, "title": app.name})
    else:
        context = frame(request, app, share_url=url, qr=_qr_svg(url), back=target)
        # Coming back from another app leads to the page being shared, not to this one.
        st = shell_state.of(request)
        if target == page.url("shell:app", app.slug):
            st.at_menu(app.pk)
        else:
            st.was_at(app.pk, target)
        response = render(request, "shell/share.html", context)
    # The customer's own link: never kept by a shared cache; it differs by cookie and Accept.
    patch_cache_control(response, private=True)
    patch_vary_headers(response, ["Cookie", "Accept"])
    return response


# --- rich previews -------------------------------------------------------------------------


def absolute(url: str) -> str:
    """An absolute URL for a path on this site (left alone if already absolute)."""
    if url.startswith(("https://", "http://")):
        return url
    return settings.PUBLIC_URL + url


def media_url(name: str) -> str:
    return absolute(settings.MEDIA_URL + name) if name else ""


def og_tags(
    *,
    app,
    title: str,
    description: str,
    path: str,
    image: str = "",
    large: bool = False,
    kind: str = "website",
) -> dict:
    """What shell/_og.html needs: every URL absolute and canonical (no sh, no scene).

    image is a stored file's name (a product's, an article's, the app's); without one the
    preview shows a picture drawn in the app's brand colour (share_image). `large` says the
    image is wide enough for a large card (a cover); a logo or a thumbnail gets the small one.
    """
    description = " ".join((description or "").split())
    if len(description) > MAX_DESCRIPTION:
        description = description[: MAX_DESCRIPTION - 1].rstrip() + "…"
    if image:
        image_url = media_url(image)
    else:
        color = (app.brand_color or "").lstrip("#").lower()
        color = color if COLOR.fullmatch(color) else "0f766e"
        image_url, large = absolute(reverse("shell:share_image", args=[color])), True
    return {
        "title": title,
        "description": description,
        "url": absolute(quote(path, safe="/")),
        "image": image_url,
        "image_alt": title,
        "type": kind,
        "site_name": app.name,
        "card": "summary_large_image" if large else "summary",
    }


def og_for_app(app) -> dict:
    """The mini app's home: its cover (else its logo), its description."""
    app = texts.localised(app)
    return og_tags(
        app=app,
        title=app.name,
        description=app.description
        or _("Order from %(name)s in your browser: no app to install.") % {"name": app.name},
        path=reverse("shell:app", args=[app.slug]),
        image=app.cover or app.logo,
        large=bool(app.cover),
    )


def og_for_product(app, product) -> dict:
    """A product's page (at its own address, even when a code shows it at the code's), in the
    language being served."""
    app = texts.localised(app)
    return og_tags(
        app=app,
        title=f"{texts.of(product, 'name')} · {app.name}",
        description=texts.of(product, "description") or app.description,
        path=reverse("shell:product", args=[app.slug, product.public_id]),
        image=product.image or app.cover or app.logo,
        large=not product.image and bool(app.cover),
        kind="product",
    )


def og_for_article(app, article) -> dict:
    return og_tags(
        app=app,
        title=article.title,
        description=article.summary or app.description,
        path=reverse("shell:article", args=[app.slug, article.public_id]),
        image=article.cover or app.cover or app.logo,
        large=bool(article.cover or app.cover),
        kind="article",
    )


@lru_cache(maxsize=64)
def _drawn(color: str) -> bytes:
    """The default preview picture: the brand colour, a phone with a tap on it. Drawn here,
    so no picture file is shipped: a few kilobytes of PNG in three palette colours, drawn in
    a few milliseconds and remembered per colour."""
    brand = tuple(int(color[i : i + 2], 16) for i in (0, 2, 4))
    light = tuple(c + (255 - c) * 3 // 10 for c in brand)
    BRAND, LIGHT, WHITE = 0, 1, 2  # noqa: N806 - palette indexes
    image = Image.new("P", IMAGE_SIZE, BRAND)
    image.putpalette([*brand, *light, 255, 255, 255])
    draw = ImageDraw.Draw(image)
    width, height = IMAGE_SIZE
    cx, cy = width // 2, height // 2
    for radius, fill in ((250, LIGHT), (190, BRAND)):  # a soft halo behind the phone
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill)
    draw.rounded_rectangle((cx - 105, cy - 190, cx + 105, cy + 190), radius=34, fill=WHITE)
    draw.rounded_rectangle((cx - 85, cy - 150, cx + 85, cy + 140), radius=12, fill=LIGHT)
    draw.rounded_rectangle((cx - 30, cy - 175, cx + 30, cy - 165), radius=5, fill=BRAND)
    for radius, fill in ((46, WHITE), (30, BRAND)):  # the tap
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6)
    return out.getvalue()


@require_GET
def share_image(request, color: str):
    """/share/<rrggbb>.png: the preview picture for a page with no picture of its own."""
    if not COLOR.fullmatch(color):
        raise Http404
    response = HttpResponse(_drawn(color), content_type="image/png")
    patch_cache_control(response, public=True, max_age=30 * 24 * 3600, immutable=True)
    return response
