"""The mini app's page, served from a cached, pre-compressed skeleton and a few small bits.

The menu page is the page Tapgo serves most (every scan, every return from adding to the
cart), so it is built to cost little more than Django's own floor (bench/, and
docs/decisions/0001-serving.md for the figures):

1. `app_state(slug)`: one query, the ORM's SQL for the live app and its merchant compiled
   once per database and run with the slug (a query through the ORM's compiler costs about
   ten times what the database itself takes for it).
2. `skeleton(...)`: the page rendered once per app state (every field it shows, the
   catalogue version included), language and menu fragment, with markers where the
   per-request bits go; split at the markers, each static piece UTF-8 encoded and
   deflate-compressed once. Kept in the cache; a change of anything it shows changes its key.
3. the bits: the CSRF token, the cart count and table (from the shell cookie, see
   shell/state.py), recently used apps (cached per customer and visit stamp), the inbox's
   unread count (one indexed COUNT, cached per customer and stamp for UNREAD_SECONDS), flash
   messages, the share link and the language form's return path.
4. the body: the pieces joined; for a browser that accepts gzip, one gzip stream made of the
   pre-compressed pieces with the bits as *stored* (uncompressed) deflate blocks. Nothing is
   compressed per request, and the bits (the CSRF token among them) are never compressed
   together with text an attacker could choose, which is what BREACH needs.

The view (shell/views/menu.py) serves it through Django; shell/front.py serves the same page,
with the same pieces and bits, before Django's middleware when a customer moves inside an
app. The cart's pages and the order page use the same bits through their templates.
"""

import re
import secrets
import struct
import time
import zlib
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlencode

from django.contrib import messages as flash
from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.csp import CSP
from django.utils.html import escape
from django.utils.safestring import SafeString

from tapgo.catalog.services import menu_for
from tapgo.core.caches import ExpiringCache
from tapgo.core.csp import enforced_policy
from tapgo.discovery import services as discovery
from tapgo.identity.middleware import current_customer
from tapgo.messaging import services as messaging
from tapgo.miniapps import live
from tapgo.miniapps.models import MiniApp
from tapgo.ordering import services as ordering
from tapgo.shell import state as shell_state

MENU_CACHE_SECONDS = 600
RECENT_CACHE_SECONDS = 600
RECENT_LIMIT = 6
# A new message shows in an app page's badge within this long; reading messages (which
# gives the customer a new stamp) shows at once.
UNREAD_SECONDS = 30
BITS = ("csrf", "cart_count", "cart_button", "table", "recent", "pin", "messages", "next",
        "share", "inbox")  # fmt: skip
_MARK = secrets.token_hex(6)
_MARK_RE = re.compile("\x1e" + _MARK + r":(\w+)\x1f")
ACCEPTS_GZIP = re.compile(r"\bgzip\b")
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


# --- the menu fragment and the skeleton ------------------------------------------------------


def _menu(app: MiniApp) -> tuple[float, str]:
    """The menu, rendered once per app, language and catalogue version, with when it was."""
    language = translation.get_language()
    key = f"menu:{app.pk}:{language}:{app.merchant.catalog_version}"
    found = cache.get(key)
    if found is None:
        html = render_to_string(
            "shell/_menu.html",
            {"app": app, "categories": menu_for(app.merchant), "currency": app.merchant.currency},
        )
        found = (time.time(), html)
        cache.set(key, found, MENU_CACHE_SECONDS)
    return found


def _mark(name: str) -> SafeString:
    return SafeString(f"\x1e{_MARK}:{name}\x1f")


def _deflate(data: bytes, *, last: bool) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    flush = zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH
    return compressor.compress(data) + compressor.flush(flush)


@dataclass(frozen=True)
class Skeleton:
    names: tuple[str, ...]  # the bit between piece i and piece i + 1
    pieces: tuple[bytes, ...]  # UTF-8
    deflated: tuple[bytes, ...]  # each piece as raw deflate, byte-aligned, the last one final


def _skeleton_key(state: live.AppState) -> str:
    return f"shell:page:{state.pk}:{translation.get_language()}:{state.key}"


def skeleton_cached(state: live.AppState) -> Skeleton | None:
    """The skeleton if one is cached (the front door renders none itself)."""
    return cache.get(_skeleton_key(state))


def skeleton(state: live.AppState) -> Skeleton:
    """The page for this app state and language, from the cache or rendered now.

    It lives no longer than the menu fragment it was built from (MENU_CACHE_SECONDS), and
    cache.clear() clears it. Stock the menu shows ("3 left", "Sold out") is fresh: a change
    of it bumps the catalogue version (catalog.services.stock_take), so the state's key.
    """
    key = _skeleton_key(state)
    built = cache.get(key)
    if built is not None:
        return built
    app = state.app()
    rendered_at, html = _menu(app)
    context = {
        "app": app,
        "merchant": app.merchant,
        "currency": app.merchant.currency,
        "menu_html": SafeString(html),
        "csrf_token": _mark("csrf"),
        "bits": {name: _mark(name) for name in BITS},
    }
    split = _MARK_RE.split(render_to_string("shell/app.html", context))
    pieces = tuple(p.encode() for p in split[0::2])
    built = Skeleton(
        names=tuple(split[1::2]),
        pieces=pieces,
        deflated=tuple(_deflate(p, last=i == len(pieces) - 1) for i, p in enumerate(pieces)),
    )
    ttl = MENU_CACHE_SECONDS - (time.time() - rendered_at)
    if ttl >= 1:
        cache.set(key, built, int(ttl))
    return built


# --- the bits --------------------------------------------------------------------------------


def csrf_token(request) -> str:
    """The form token of this page: the CSRF secret itself while the request has a valid
    cookie (Django accepts an unmasked secret; masking defends against BREACH, and this token
    goes out as a stored, uncompressed block, never compressed with text an attacker could
    choose), else a new one (its cookie is set on the response)."""
    secret = request.META.get("CSRF_COOKIE")
    if secret and len(secret) == 32:
        return secret
    return get_token(request)


# Recently used lists, per process: keyed by customer and visit stamp, a list never changes
# (a new visit makes a new stamp), so no process needs telling; entries expire after
# RECENT_CACHE_SECONDS so a renamed or withdrawn app drops out in time.
_recent = ExpiringCache("shell.recent", size=20_000, seconds=RECENT_CACHE_SECONDS)
# Unread counts, per process: keyed by customer and visit stamp like the recently used
# list; reading messages makes a new stamp (lists_changed), and a count is trusted for
# UNREAD_SECONDS, so a message delivered meanwhile shows on app pages within that time.
_unread = ExpiringCache("shell.unread", size=20_000, seconds=UNREAD_SECONDS)


@dataclass(frozen=True)
class Switcher:
    """The customer's part of the top bar's menu: the recently used apps to switch to, as
    (href, name), each going back to the page the customer was on there (shell/state.py), and
    whether this app is pinned to the customer's home."""

    links: tuple[tuple[str, str], ...] = ()
    pinned: bool = False


def _switcher(st: shell_state.ShellState, found, app_pk: int) -> Switcher:
    apps, pins = found
    links = []
    for pk, slug, name in apps:
        if pk == app_pk:
            continue
        home = url("shell:app", slug)
        path = st.resume_path(pk)
        links.append((path if path and path.startswith(home) else home, name))
        if len(links) == RECENT_LIMIT:
            break
    return Switcher(tuple(links), app_pk in pins)


def recent_cached(st: shell_state.ShellState, app_pk: int) -> Switcher | None:
    """Recently used apps other than this one and the pin, if known without a query."""
    if not st.customer_id:
        return Switcher()
    found = _recent.get((st.customer_id, st.stamp))
    if found is None:
        return None
    return _switcher(st, found, app_pk)


def recent_apps(request, st: shell_state.ShellState, app_pk: int) -> Switcher:
    """Recently used apps other than this one and the pin, cached per customer and stamp
    (discovery.services: recently used, favourites)."""
    found = recent_cached(st, app_pk)
    if found is not None:
        return found
    customer = st.customer(request)
    apps = discovery.recently_used(customer, limit=RECENT_LIMIT + 1)
    listed = ([(a.pk, a.slug, a.name) for a in apps], frozenset(discovery.favourite_ids(customer)))
    _recent.set((st.customer_id, st.stamp), listed)
    return _switcher(st, listed, app_pk)


def note_visit(request, st: shell_state.ShellState, state: live.AppState) -> None:
    """After a visit is recorded: a new stamp, and the cached list moved on without a query."""
    old = _recent.get((st.customer_id, st.stamp)) if st.stamp else None
    before = (st.customer_id, st.stamp)
    st.visited()
    _unread.copy(before, (st.customer_id, st.stamp))  # a visit reads no message
    if old is not None:
        apps = [(state.pk, state.slug, state.name)]
        apps += [a for a in old[0] if a[0] != state.pk][:RECENT_LIMIT]
        _recent.set((st.customer_id, st.stamp), (apps, old[1]))


def lists_changed(st: shell_state.ShellState) -> None:
    """After the customer pinned, unpinned or removed an app, or read messages: a new stamp,
    so every page (in every process) reads the list, the pins and the unread count afresh."""
    st.visited()


def unread_cached(st: shell_state.ShellState) -> int | None:
    """The customer's unread messages, if this process knows them for this stamp."""
    if not st.customer_id:
        return 0
    return _unread.get((st.customer_id, st.stamp))


def unread_of(st: shell_state.ShellState, *, fresh: bool = False) -> int:
    """The customer's unread messages: cached, or (fresh, or not known) one indexed COUNT."""
    if not st.customer_id:
        return 0
    found = None if fresh else _unread.get((st.customer_id, st.stamp))
    if found is None:
        found = messaging.unread_count(st.customer_id)
        _unread.set((st.customer_id, st.stamp), found)
    return found


def cart_of(request, st: shell_state.ShellState, state: live.AppState) -> tuple[int, str]:
    """(count, table) of this customer's cart here: from the shell cookie, else the database."""
    known = st.cart(state.pk)
    if known is not None:
        return known
    customer = current_customer(request)
    if customer is None:
        return 0, ""
    st.bind(request, customer)
    view = ordering.cart_view(customer=customer, app=state.app())
    table = view.cart.table_label if view.cart else ""
    st.remember(state.pk, view.count, table)
    return view.count, table


def messages_html(request) -> str:
    """The flash messages waiting for this page. Counting them reads the "messages" cookie
    only (with no cookie the session is not touched: it holds only an overflow, and then the
    cookie says so); showing them uses them up, as Django's template tag does."""
    storage = flash.get_messages(request)
    if not len(storage):
        return ""
    return render_to_string("shell/bits/messages.html", {"items": list(storage)})


@lru_cache(maxsize=4096)
def url(name: str, slug: str) -> str:
    """reverse() for a slug, remembered: reverse() costs as much as the rest of a bit."""
    return reverse(name, args=[slug])


@lru_cache(maxsize=4096)
def share_endpoint(slug: str, path: str) -> str:
    """Where the Share action goes for this page: the share endpoint (shell/views/sharing.py) with
    the page's path, escaped for an attribute. No query: the customer's link is made there."""
    return escape(url("shell:share", slug) + "?" + urlencode({"path": path}))


# The bits whose HTML is a small template (shell/templates/shell/bits/), rendered once per
# language and inputs and remembered: each costs a few microseconds once known.


def _bit(template: str, language: str, **context) -> SafeString:
    with translation.override(language):
        return SafeString(render_to_string(f"shell/bits/{template}.html", context))


@lru_cache(maxsize=4096)
def cart_button(language: str, slug: str, count: int) -> SafeString:
    return _bit("cart_button", language, slug=slug, count=count)


@lru_cache(maxsize=4096)
def table_chip(language: str, label: str) -> SafeString:
    return _bit("table", language, label=label)


@lru_cache(maxsize=4096)
def recent_menu(language: str, links: tuple[tuple[str, str], ...]) -> SafeString:
    """The top bar menu's recently used apps, each going back where the customer was."""
    return _bit("recent", language, links=links)


@lru_cache(maxsize=16)
def pin_button(language: str, pinned: bool) -> SafeString:
    """The pin form's button: it says what it will do, and sends the state it asks for."""
    return _bit("pin", language, pinned=pinned)


@lru_cache(maxsize=512)
def inbox_link(language: str, unread: int) -> SafeString:
    """The top bar's link to the inbox, with the unread count when there is one."""
    return _bit("inbox", language, unread=unread, shown=str(unread) if unread < 100 else "99+")


def bits(request, pk: int, slug: str, st, *, count: int, table: str) -> dict[str, str]:
    """The per-request parts of a mini-app page, as safe HTML strings."""
    recent = recent_apps(request, st, pk)
    return bits_of(
        language=translation.get_language(),
        slug=slug,
        recent=recent,
        unread=unread_of(st),
        count=count,
        table=table,
        csrf=csrf_token(request),
        path=request.get_full_path(),
        messages=messages_html(request),
    )


def bits_of(
    *, language, slug, recent, unread, count, table, csrf, path, messages
) -> dict[str, str]:
    return {
        "csrf": csrf,
        "cart_count": str(count),
        "cart_button": cart_button(language, slug, count) if count else "",
        "table": table_chip(language, table) if table else "",
        "recent": recent_menu(language, recent.links) if recent.links else "",
        "pin": pin_button(language, recent.pinned),
        "messages": messages,
        "next": escape(path),
        "share": share_endpoint(slug, path.split("?", 1)[0]),
        "inbox": inbox_link(language, unread),
    }


# --- the response ----------------------------------------------------------------------------


_STORED = struct.Struct("<BHH")
_TRAILER = struct.Struct("<II")


def _stored(data: bytes) -> bytes:
    """Data as stored (uncompressed) deflate blocks, not final."""
    if len(data) <= 65535:
        return _STORED.pack(0, len(data), len(data) ^ 0xFFFF) + data
    return b"".join(_stored(data[i : i + 65535]) for i in range(0, len(data), 65535))


def join(skel: Skeleton, values: dict[str, str], *, gzip: bool) -> bytes:
    dynamic = [values[name].encode() for name in skel.names]
    parts = [b""] * (2 * len(dynamic) + 1)  # every slot is filled below
    parts[0::2] = skel.pieces
    parts[1::2] = dynamic
    plain = b"".join(parts)
    if not gzip:
        return plain
    out = [b""] * (2 * len(dynamic) + 3)
    out[0] = _GZIP_HEADER
    out[1:-1:2] = skel.deflated
    out[2:-2:2] = [_stored(d) if d else b"" for d in dynamic]
    out[-1] = _TRAILER.pack(zlib.crc32(plain), len(plain) & 0xFFFFFFFF)
    return b"".join(out)


def render_app(request, state: live.AppState, st, *, table_label: str = "") -> HttpResponse:
    """The mini app's page for this request."""
    skel = skeleton(state)
    st.at_menu(state.pk)  # switching back to this app comes back to its menu
    count, table = cart_of(request, st, state)
    values = bits(request, state.pk, state.slug, st, count=count, table=table_label or table)
    gzip = bool(ACCEPTS_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")))
    response = HttpResponse(join(skel, values, gzip=gzip), content_type="text/html; charset=utf-8")
    if gzip:
        response["Content-Encoding"] = "gzip"
    # The page differs by customer (cookies) and is compressed for some clients only.
    response["Vary"] = "Cookie, Accept-Encoding"
    response["Cache-Control"] = "private"
    # str(), as Django's middleware does: wsgiref (runserver, the test live server) refuses a
    # header name that is not exactly a str, and the StrEnum member is not.
    response[str(CSP.HEADER_ENFORCE)] = enforced_policy()
    return response
