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

from tapgo.catalog import services as catalog
from tapgo.core import translations as texts
from tapgo.core.bots import is_bot
from tapgo.identity.middleware import ensure_customer
from tapgo.miniapps import cards, live
from tapgo.miniapps import services as miniapps
from tapgo.official import services as official
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
        out, kind="svg", scale=5, border=miniapps.QR_BORDER, xmldecl=False, svgclass="qr"
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


def og_tags(
    *,
    app,
    title: str,
    description: str,
    path: str,
    card: str,
    kind: str = "website",
) -> dict:
    """What shell/_og.html needs: every URL absolute and canonical (no sh, no scene).

    card is the path of the page's preview card (a 1200 × 630 JPEG drawn by
    miniapps.cards: its picture, the shop's name and what is shared), with its version."""
    description = " ".join((description or "").split())
    if len(description) > MAX_DESCRIPTION:
        description = description[: MAX_DESCRIPTION - 1].rstrip() + "…"
    return {
        "title": title,
        "description": description,
        "url": absolute(quote(path, safe="/")),
        "image": absolute(card),
        "image_type": cards.CONTENT_TYPE,
        "image_width": cards.SIZE[0],
        "image_height": cards.SIZE[1],
        "image_alt": title,
        "type": kind,
        "site_name": app.name,
        "card": "summary_large_image",
    }


def _card_path(name: str, args: list, card: cards.Card) -> str:
    return reverse(name, args=args) + "?" + urlencode({"v": card.version()})


def app_card(app) -> cards.Card:
    app = texts.localised(app)
    default = _("Order from %(name)s in your browser: no app to install.") % {"name": app.name}
    return cards.Card(
        shop=app.name,
        title=app.description or default,
        picture=app.cover or app.logo,
        color=app.brand_color,
    )


def product_card(app, product) -> cards.Card:
    app = texts.localised(app)
    return cards.Card(
        shop=app.name,
        title=texts.of(product, "name"),
        picture=product.image or app.cover or app.logo,
        color=app.brand_color,
    )


def article_card(app, article) -> cards.Card:
    app = texts.localised(app)
    return cards.Card(
        shop=app.name,
        title=article.title,
        picture=article.cover or app.cover or app.logo,
        color=app.brand_color,
    )


def og_for_app(app) -> dict:
    """The mini app's home: its cover (else its logo), its description."""
    app = texts.localised(app)
    return og_tags(
        app=app,
        title=app.name,
        description=app.description
        or _("Order from %(name)s in your browser: no app to install.") % {"name": app.name},
        path=reverse("shell:app", args=[app.slug]),
        card=_card_path("shell:app_card", [app.slug], app_card(app)),
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
        card=_card_path(
            "shell:product_card", [app.slug, product.public_id], product_card(app, product)
        ),
        kind="product",
    )


def og_for_article(app, article) -> dict:
    return og_tags(
        app=app,
        title=article.title,
        description=article.summary or app.description,
        path=reverse("shell:article", args=[app.slug, article.public_id]),
        card=_card_path(
            "shell:article_card", [app.slug, article.public_id], article_card(app, article)
        ),
        kind="article",
    )


def _card_response(card: cards.Card) -> HttpResponse:
    response = HttpResponse(cards.render(card), content_type=cards.CONTENT_TYPE)
    # Its URL carries the card's version: a day in caches, and a change is a new URL.
    patch_cache_control(response, public=True, max_age=24 * 3600)
    return response


@require_GET
def app_card_image(request, slug: str):
    """/m/<slug>/card.jpg: the app's preview card."""
    app = live.app_state(slug).app()
    return _card_response(app_card(app))


@require_GET
def product_card_image(request, slug: str, product_id: str):
    """/m/<slug>/p/<product>/card.jpg: a product's preview card."""
    app = live.app_state(slug).app()
    found = catalog.access_product(merchant=app.merchant, public_id=product_id)  # or 404
    return _card_response(product_card(app, found))


@require_GET
def article_card_image(request, slug: str, article_id: str):
    """/m/<slug>/a/<article>/card.jpg: an article's preview card."""
    app = live.app_state(slug).app()
    found = official.published_article(app=app, public_id=article_id)  # or 404
    return _card_response(article_card(app, found))


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
    """/share/<rrggbb>.png: the preview picture pages without a picture of their own had
    before preview cards (chat apps keep previews: the address still answers)."""
    if not COLOR.fullmatch(color):
        raise Http404
    response = HttpResponse(_drawn(color), content_type="image/png")
    patch_cache_control(response, public=True, max_age=30 * 24 * 3600, immutable=True)
    return response
