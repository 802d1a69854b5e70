"""What the shell remembers about a customer in a signed cookie, so a page needs no query.

The cookie `tg_shell` belongs to one guest cookie (the customer's public id in it) and holds:

- the customer's row id (signed by us when we read it from the database), so recording a
  visit needs no lookup of the customer first;
- a visit stamp, which changes whenever the shell records a visit: the cached list of
  recently used apps is keyed by it, so a new visit shows at once in every worker process;
- per mini app, the cart's item count and table label with the time they were read;
- per mini app, the page the customer was last on in it (other than its menu) and when, so
  switching back to the app from another one (the top bar's recently used apps, the home
  page's lists) comes back to that page: the cart, a product, the card, an order. A mini
  program kept in the background comes back where it was; so does this, for RESUME_SECONDS.

An app's entry is trusted for STATE_SECONDS; after that, or for an app it has no entry for,
the page reads the database and refreshes the cookie. Every cart change made through the
shell updates the entry, so on one device the count is exact; a change from elsewhere (the
same account on another phone) shows within STATE_SECONDS. The cookie grants nothing: carts,
checkout and orders still check the guest cookie and the database. A different guest cookie
(sign-in, sign-out, a new guest) makes the whole state void.
"""

import time
from dataclasses import dataclass, field
from functools import lru_cache, wraps

from django.conf import settings
from django.core import signing

from tapgo.identity import middleware as guest
from tapgo.identity.models import Customer

COOKIE = "tg_shell"
SALT = "tapgo.shell"
STATE_SECONDS = 600
MAX_APPS = 8
MAX_AGE = 30 * 24 * 3600
RESUME_SECONDS = 30 * 60
MAX_PATH = 300


def _guest_id(request) -> str:
    """The guest cookie's customer id, as this response will leave it."""
    switched = getattr(request, "_tapgo_cookie", None)
    if switched is not None:
        return switched
    raw = request.COOKIES.get(guest.COOKIE, "")
    # The value before the signature. Not verified here: the state only drives what a page
    # shows, and every write checks the guest cookie itself (current_customer).
    return raw.split(":", 1)[0]


@dataclass
class ShellState:
    guest: str = ""
    customer_id: int | None = None
    stamp: int = 0
    apps: dict[str, list] = field(default_factory=dict)
    resume: dict[str, list] = field(default_factory=dict)  # app pk → [path, time]
    changed: bool = False

    # --- the customer -------------------------------------------------------------------

    def customer(self, request) -> Customer:
        """The customer for a write (a visit, the table): from the state, or looked up/made."""
        if self.customer_id and self.guest == _guest_id(request):
            return Customer(pk=self.customer_id, public_id=self.guest)
        customer = guest.ensure_customer(request)
        self.bind(request, customer)
        return customer

    def bind(self, request, customer: Customer | None) -> None:
        identity = _guest_id(request)
        if customer is None or not identity:
            return
        if self.guest != identity or self.customer_id != customer.pk:
            self.guest, self.customer_id, self.apps, self.stamp = identity, customer.pk, {}, 0
            self.resume = {}
            self.changed = True

    # --- carts --------------------------------------------------------------------------

    def cart(self, app_pk: int) -> tuple[int, str] | None:
        """(item count, table) of the customer's cart in this app, if known and fresh."""
        entry = self.apps.get(str(app_pk))
        if entry is None or time.time() - entry[2] > STATE_SECONDS:
            return None
        return entry[0], entry[1]

    def remember(self, app_pk: int, count: int, table: str, *, checked: bool = True) -> None:
        key = str(app_pk)
        old = self.apps.get(key)
        stamp = int(time.time()) if checked or old is None else old[2]
        if old is not None and old[0] == count and old[1] == table and old[2] == stamp:
            return
        self.apps.pop(key, None)
        self.apps[key] = [count, table, stamp]
        while len(self.apps) > MAX_APPS:
            self.apps.pop(next(iter(self.apps)))
        self.changed = True

    def added(self, app_pk: int, quantity: int) -> bool:
        """Count an add to the cart; False when the count is not known (read it instead)."""
        entry = self.apps.get(str(app_pk))
        if entry is None or time.time() - entry[2] > STATE_SECONDS:
            return False
        self.remember(app_pk, entry[0] + quantity, entry[1], checked=False)
        return True

    def visited(self) -> None:
        """A new stamp: the recently used list (and pins) shown from it are read afresh."""
        self.stamp = time.time_ns() // 1000
        self.changed = True

    # --- where the customer was in each app -----------------------------------------------

    def was_at(self, app_pk: int, path: str) -> None:
        """The customer is on this page of the app (not its menu)."""
        if len(path) > MAX_PATH:
            self.at_menu(app_pk)
            return
        key, now = str(app_pk), int(time.time())
        old = self.resume.get(key)
        if old is not None and old[0] == path and now - old[1] < 60:
            return  # the same page again: no new cookie for a minute's difference
        self.resume.pop(key, None)
        self.resume[key] = [path, now]
        while len(self.resume) > MAX_APPS:
            self.resume.pop(next(iter(self.resume)))
        self.changed = True

    def at_menu(self, app_pk: int) -> None:
        """The customer is on the app's menu page: coming back, the menu it is."""
        if self.resume.pop(str(app_pk), None) is not None:
            self.changed = True

    def remembers(self, app_pk: int) -> bool:
        return str(app_pk) in self.resume

    def resume_path(self, app_pk: int) -> str | None:
        """The page to come back to in this app, if the customer left one recently."""
        entry = self.resume.get(str(app_pk))
        if entry is None or time.time() - entry[1] > RESUME_SECONDS:
            return None
        return entry[0]

    # --- the cookie ---------------------------------------------------------------------

    def dumps(self) -> str:
        data = {"g": self.guest, "c": self.customer_id, "s": self.stamp, "a": self.apps}
        if self.resume:
            data["r"] = self.resume
        return signing.dumps(dict(data, t=int(time.time())), salt=SALT)


@lru_cache(maxsize=4096)
def _verified(raw: str):
    """The cookie's data if our signature on it holds. A browser sends the same cookie again
    and again until it changes, so each distinct value is checked once per process."""
    try:
        return signing.loads(raw, salt=SALT)
    except signing.BadSignature:
        return None


def of(request) -> ShellState:
    """The request's shell state: read once, valid only for the guest cookie it came with."""
    state = getattr(request, "_tapgo_shell", None)
    if state is not None:
        return state
    state = ShellState()
    raw = request.COOKIES.get(COOKIE)
    if raw:
        data = _verified(raw)
        if (
            isinstance(data, dict)
            and data.get("g")
            and data.get("g") == _guest_id(request)
            and time.time() - (data.get("t") or 0) < MAX_AGE
        ):
            stamp = data.get("s")
            state = ShellState(
                guest=data["g"],
                customer_id=data.get("c") if isinstance(data.get("c"), int) else None,
                stamp=stamp if isinstance(stamp, int) else 0,
                # A copy: the cached data must not change with this request's state.
                apps={k: list(v) for k, v in data["a"].items()}
                if isinstance(data.get("a"), dict)
                else {},
                resume=_resume(data.get("r")),
            )
        else:
            state.changed = True  # void: replace it
    request._tapgo_shell = state
    return state


def _resume(value) -> dict[str, list]:
    """The remembered pages, as a copy, keeping only well-formed entries (paths inside an
    app: /m/...)."""
    if not isinstance(value, dict):
        return {}
    return {
        k: [v[0], v[1]]
        for k, v in value.items()
        if isinstance(v, list)
        and len(v) == 2
        and isinstance(v[0], str)
        and v[0].startswith("/m/")
        and len(v[0]) <= MAX_PATH
        and isinstance(v[1], int)
    }


def save(request, response) -> None:
    state = getattr(request, "_tapgo_shell", None)
    if state is None or not state.changed:
        return
    if not state.guest or state.guest != _guest_id(request):
        if COOKIE in request.COOKIES:
            response.delete_cookie(COOKIE, samesite="Lax")
        return
    response.set_cookie(
        COOKIE,
        state.dumps(),
        max_age=MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


def keeps(view):
    """Write the shell state back to its cookie when the view changed it."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        save(request, response)
        return response

    return wrapper
