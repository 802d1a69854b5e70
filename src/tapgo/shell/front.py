"""The front door `tapgo serve` runs: the menu page, for a customer moving inside the app,
answered before Django's middleware; everything else goes to Django as usual.

Why: on this hardware Django's middleware stack alone costs more than half of what the
"hello" floor costs per request, so no menu page behind it reaches half the floor's
requests per second (bench/, docs/decisions/0001-serving.md). The page itself is already
a cached, pre-compressed skeleton plus a few bits (shell/page.py); here the same skeleton
and bits are served from the WSGI entry, with the very headers Django's middleware sent for
that page.

It answers only when it is sure to answer what Django would, and hands the request to
Django otherwise:

- GET /m/<slug>/ with no query string and a Referer from this site (a move inside the app:
  no visit to record);
- the host, scheme and language have been answered by Django for this page before, and
  the headers it sent then are reused (so CSP, framing, HSTS and the rest stay exactly what
  the middleware makes; a host Django refused never gets here);
- a well-formed CSRF cookie, a valid shell cookie with a fresh cart entry for this app
  and no other page of the app remembered for switching back (shell/state.py), no flash
  messages waiting, the skeleton, the customer's recently used list and unread count
  already cached;
- the app is live. Its state (published, merchant active, paused, catalogue version, all
  it shows) is read with one query at most once a second per worker process
  (APP_STATE_SECONDS): a query per view costs as much as the page here, more on PostgreSQL,
  whose work shares the same cores. So pausing, publishing or a menu change shows on this
  page within a second; every write (adding to the cart, checking out) and every page Django
  answers reads the database itself, so a paused kitchen refuses an order at once.

Anything else, any error included, is Django's to answer.
"""

import logging
import re
from functools import lru_cache

from tapgo.wsgi import application as django_application  # first: it sets Django up

# isort: split
from django.conf import settings
from django.db import connections, router
from django.http import Http404, HttpRequest, parse_cookie
from django.utils import translation

from tapgo.core.caches import ExpiringCache
from tapgo.miniapps import live
from tapgo.miniapps.models import MiniApp
from tapgo.shell import page
from tapgo.shell import state as shell_state

log = logging.getLogger(__name__)

APP_PATH = re.compile(r"^/m/([-a-zA-Z0-9_]+)/$")
CSRF_SECRET = re.compile(r"^[a-zA-Z0-9]{32}$")
SKIP_HEADERS = {"set-cookie", "content-length", "content-encoding", "date", "server"}
MAX_HEADER_SETS = 64

APP_STATE_SECONDS = 1.0
MAX_APP_STATES = 1024
HEADERS_SECONDS = 24 * 3600  # settings do not change while the process runs

# (host, scheme, language) → the headers Django's stack sent with this page there.
_headers = ExpiringCache("front.headers", size=MAX_HEADER_SETS, seconds=HEADERS_SECONDS)
# slug → the app's state
_app_states = ExpiringCache("front.app_states", size=MAX_APP_STATES, seconds=APP_STATE_SECONDS)


def _app_state(slug: str) -> live.AppState | None:
    found = _app_states.get(slug)
    if found is not None:
        return found
    connection = connections[router.db_for_read(MiniApp)]
    if not connection.in_atomic_block:  # what Django does when a request starts
        connection.close_if_unusable_or_obsolete()
    try:
        state = live.app_state(slug)
    except Http404:
        _app_states.pop(slug)
        return None  # Django answers the 404 page
    _app_states.set(slug, state)
    return state


class _Cookies:
    """What shell/state.py reads from a request."""

    def __init__(self, cookies: dict[str, str]):
        self.COOKIES = cookies


@lru_cache(maxsize=1024)
def _language(cookie: str | None, accept: str) -> str:
    """The language LocaleMiddleware would choose (Tapgo uses no language prefix in URLs)."""
    request = HttpRequest()  # of which it reads the language cookie and Accept-Language
    if cookie:
        request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = cookie
    if accept:
        request.META["HTTP_ACCEPT_LANGUAGE"] = accept
    return translation.get_language_from_request(request)


def _scheme(environ) -> str:
    """request.scheme, as Django works it out."""
    if settings.SECURE_PROXY_SSL_HEADER:
        header, secure_value = settings.SECURE_PROXY_SSL_HEADER
        value = environ.get(header)
        if value is not None:
            return "https" if value.split(",", 1)[0].strip() == secure_value else "http"
    return environ.get("wsgi.url_scheme", "http")


def _serve(environ, slug: str):
    host = environ.get("HTTP_HOST", "")
    referer = environ.get("HTTP_REFERER", "")
    if not host or not referer.startswith((f"http://{host}/", f"https://{host}/")):
        return None
    cookies = parse_cookie(environ.get("HTTP_COOKIE", ""))
    if "messages" in cookies or settings.CSRF_USE_SESSIONS:
        return None
    secret = cookies.get(settings.CSRF_COOKIE_NAME, "")
    if not CSRF_SECRET.match(secret):
        return None
    scheme = _scheme(environ)
    language = _language(
        cookies.get(settings.LANGUAGE_COOKIE_NAME), environ.get("HTTP_ACCEPT_LANGUAGE", "")
    )
    headers = _headers.get((host, scheme, language))
    if headers is None:
        return None
    st = shell_state.of(_Cookies(cookies))
    if st.changed or not st.customer_id:
        return None
    state = _app_state(slug)
    if state is None:
        return None
    cart = st.cart(state.pk)
    if cart is None or st.remembers(state.pk):  # Django forgets the page left (a new cookie)
        return None
    with translation.override(language):
        skel = page.skeleton_cached(state)
        recent = page.recent_cached(st, state.pk)
        unread = page.unread_cached(st)
        if skel is None or recent is None or unread is None:
            return None
        values = page.bits_of(
            language=language,
            slug=state.slug,
            recent=recent,
            unread=unread,
            count=cart[0],
            table=cart[1],
            csrf=secret,
            path=environ.get("PATH_INFO", ""),
            messages="",
        )
    gzip = bool(page.ACCEPTS_GZIP.search(environ.get("HTTP_ACCEPT_ENCODING", "")))
    body = page.join(skel, values, gzip=gzip)
    out = list(headers)
    if gzip:
        out.append(("Content-Encoding", "gzip"))
    out.append(("Content-Length", str(len(body))))
    return out, body


def _recording(environ, start_response):
    """Django's start_response, noting the headers of a 200 menu page for the front door."""

    def start(status, headers, exc_info=None):
        if status.startswith("200 ") and any(
            k.lower() == "content-type" and v.startswith("text/html") for k, v in headers
        ):
            language = next((v for k, v in headers if k.lower() == "content-language"), "")
            key = (environ.get("HTTP_HOST", ""), _scheme(environ), language)
            if _headers.get(key) is None:
                _headers.set(key, [(k, v) for k, v in headers if k.lower() not in SKIP_HEADERS])
        return start_response(status, headers, exc_info)

    return start


def application(environ, start_response):
    if environ.get("REQUEST_METHOD") == "GET" and not environ.get("QUERY_STRING"):
        match = APP_PATH.match(environ.get("PATH_INFO", ""))
        if match:
            try:
                served = _serve(environ, match[1])
            except Exception:  # noqa: BLE001 - Django answers instead, and reports errors
                log.debug("front door passed a request on", exc_info=True)
                served = None
            if served is not None:
                start_response("200 OK", served[0])
                return [served[1]]
            return django_application(environ, _recording(environ, start_response))
    return django_application(environ, start_response)
