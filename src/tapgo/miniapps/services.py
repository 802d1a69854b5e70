"""Mini apps, their entry codes and the visits that come through them."""

import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import segno
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Count
from django.http import Http404
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image

from tapgo.catalog.services import access_product
from tapgo.core.ids import is_public_id
from tapgo.core.scenes import Scene
from tapgo.core.urls import absolute_url
from tapgo.merchants.models import Merchant
from tapgo.merchants.services import merchant_store
from tapgo.miniapps.models import EntryCode, MiniApp, ShareLink, Template, Visit

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
RESERVED_SLUGS = {"admin", "api", "console", "ops", "me", "static", "media", "pay", "s"}
MAX_TABLES = 500
CODE_LENGTH = EntryCode._meta.get_field("code").id_length


class MiniAppError(ValueError):
    pass


def _clean(name: str, slug: str, brand_color: str, template: str) -> tuple[str, str]:
    name, slug = name.strip(), slug.strip().lower()
    if not name:
        raise MiniAppError(_("A mini app needs a name."))
    if not SLUG_RE.match(slug) or slug in RESERVED_SLUGS:
        raise MiniAppError(
            _("The slug must be 3–40 lowercase letters, digits or dashes, and not a reserved word.")
        )
    if not COLOR_RE.match(brand_color):
        raise MiniAppError(_("The brand colour must look like #0f766e."))
    if template not in Template.values:
        raise MiniAppError(_("Unknown template."))
    return name, slug


def app_create(
    *,
    merchant: Merchant,
    name: str,
    slug: str,
    description: str = "",
    brand_color: str = "#0f766e",
    template: str = Template.MENU,
    logo: str = "",
    cover: str = "",
) -> MiniApp:
    name, slug = _clean(name, slug, brand_color, template)
    try:
        with transaction.atomic():
            app = MiniApp.objects.create(
                merchant=merchant,
                store=merchant_store(merchant),
                name=name,
                slug=slug,
                description=description.strip(),
                brand_color=brand_color.lower(),
                template=template,
                logo=logo,
                cover=cover,
            )
            EntryCode.objects.create(merchant=merchant, app=app, kind=EntryCode.Kind.STORE)
    except IntegrityError:
        raise MiniAppError(_("The slug “%(slug)s” is taken.") % {"slug": slug}) from None
    return app


def app_update(
    *,
    app: MiniApp,
    name: str,
    slug: str,
    description: str,
    brand_color: str,
    logo: str | None = None,
    cover: str | None = None,
) -> MiniApp:
    name, slug = _clean(name, slug, brand_color, app.template)
    fields = {
        "name": name,
        "slug": slug,
        "description": description.strip(),
        "brand_color": brand_color.lower(),
    }
    if logo is not None:
        fields["logo"] = logo
    if cover is not None:
        fields["cover"] = cover
    try:
        with transaction.atomic():
            MiniApp.objects.filter(pk=app.pk).update(**fields)
    except IntegrityError:
        raise MiniAppError(_("The slug “%(slug)s” is taken.") % {"slug": slug}) from None
    app.refresh_from_db()
    return app


def app_set_published(*, app: MiniApp, published: bool) -> None:
    status = MiniApp.Status.PUBLISHED if published else MiniApp.Status.DRAFT
    MiniApp.objects.filter(pk=app.pk).update(status=status)
    app.status = status


def apps_of(merchant: Merchant):
    return MiniApp.objects.for_merchant(merchant).order_by("created_at")


def access_app(*, merchant: Merchant, app_public_id: str) -> MiniApp:
    if not is_public_id(app_public_id):
        raise Http404
    app = MiniApp.objects.for_merchant(merchant).filter(public_id=app_public_id).first()
    if app is None:
        raise Http404
    return app


def live_app(slug: str) -> MiniApp:
    """A published app of an active merchant, as a customer may open it, or 404."""
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        raise Http404
    app = MiniApp.objects.live().select_related("merchant", "store").filter(slug=slug).first()
    if app is None:
        raise Http404
    return app


# --- entry codes --------------------------------------------------------------------------

# What a scanned code was: working, or still known but switched off or past its expiry. The
# last two open a friendly page of the (live) app, and the visit records which one it was.
CODE_WORKING, CODE_DISABLED, CODE_EXPIRED = "", "disabled", "expired"
SCENE_PARAM_MAX = EntryCode._meta.get_field("scene_param").max_length
CODE_NAME_MAX = EntryCode._meta.get_field("name").max_length
TABLE_LABEL_MAX = EntryCode._meta.get_field("table_label").max_length
# Unicode categories refused in merchant text: controls, format characters (bidi overrides,
# zero-width spaces; the zero-width joiner of emoji sequences is let through), surrogates,
# private use, unassigned, and line/paragraph separators.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_ALLOWED_FORMAT = {"\u200d"}


def live_app_of_merchants(merchant_ids) -> dict[int, MiniApp]:
    """Each merchant's oldest live app, by merchant id (where the merchant has one)."""
    apps = {}
    for found in (
        MiniApp.objects.live().filter(merchant_id__in=merchant_ids).order_by("-created_at")
    ):
        apps[found.merchant_id] = found
    return apps


def _printable(text: str) -> bool:
    return all(
        c in _ALLOWED_FORMAT or unicodedata.category(c) not in _REFUSED_CATEGORIES for c in text
    )


def _clean_text(value, *, limit: int, too_long: str, bad: str) -> str:
    """Merchant text as stored: NFC, trimmed, printable, at most `limit` characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MiniAppError(bad)
    text = unicodedata.normalize("NFC", value).strip()
    if not _printable(text):
        raise MiniAppError(bad)
    if len(text) > limit:
        raise MiniAppError(too_long)
    return text


def clean_scene_param(value) -> str:
    return _clean_text(
        value,
        limit=SCENE_PARAM_MAX,
        too_long=_("A scene parameter has at most %(n)d characters.") % {"n": SCENE_PARAM_MAX},
        bad=_("A scene parameter cannot contain control characters."),
    )


def _clean_name(value) -> str:
    return _clean_text(
        value,
        limit=CODE_NAME_MAX,
        too_long=_("A code's name has at most %(n)d characters.") % {"n": CODE_NAME_MAX},
        bad=_("A code's name cannot contain control characters."),
    )


def _clean_label(value) -> str:
    label = _clean_text(
        value,
        limit=TABLE_LABEL_MAX,
        too_long=_("A table name has at most %(n)d characters.") % {"n": TABLE_LABEL_MAX},
        bad=_("A table name cannot contain control characters."),
    )
    if not label:
        raise MiniAppError(_("Give at least one table number or name."))
    return label


def _clean_expiry(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or timezone.is_naive(value):
        raise MiniAppError(_("The expiry must be a date and time."))
    if value <= timezone.now():
        raise MiniAppError(_("The expiry must be in the future."))
    return value


_DUPLICATE = {
    EntryCode.Kind.STORE: gettext_lazy("There is already a store code with this scene parameter."),
    EntryCode.Kind.TABLE: gettext_lazy("This table already has a code with this scene parameter."),
    EntryCode.Kind.PRODUCT: gettext_lazy(
        "This product already has a code with this scene parameter."
    ),
    EntryCode.Kind.CAMPAIGN: gettext_lazy(
        "There is already a campaign code with this scene parameter."
    ),
}


def code_create(
    *,
    app: MiniApp,
    kind: str,
    scene_param: str = "",
    name: str = "",
    expires_at: datetime | None = None,
    table_label: str = "",
    product_public_id: str = "",
) -> EntryCode:
    """A new code of one of the four kinds. What it opens lives in its row, never in its URL.

    A table code names its table, a product code one of this merchant's products (by public
    id; another merchant's product is refused as unknown), a campaign code needs a scene
    parameter (the flyer's name). The model's unique constraints decide duplicates.
    """
    if kind not in EntryCode.Kind.values:
        raise MiniAppError(_("Unknown kind of code."))
    scene_param = clean_scene_param(scene_param)
    fields = {
        "merchant_id": app.merchant_id,
        "app": app,
        "kind": kind,
        "scene_param": scene_param,
        "name": _clean_name(name),
        "expires_at": _clean_expiry(expires_at),
    }
    if kind == EntryCode.Kind.TABLE:
        fields["table_label"] = _clean_label(table_label)
        if EntryCode.objects.filter(app=app, kind=kind).count() >= MAX_TABLES:
            raise MiniAppError(_("A mini app has at most %(n)d table codes.") % {"n": MAX_TABLES})
    elif kind == EntryCode.Kind.PRODUCT:
        fields["product"] = _product_of(app, product_public_id)
    elif kind == EntryCode.Kind.CAMPAIGN and not scene_param:
        raise MiniAppError(_("A campaign code needs a scene parameter, such as the flyer's name."))
    try:
        with transaction.atomic():
            return EntryCode.objects.create(**fields)
    except IntegrityError:
        raise MiniAppError(str(_DUPLICATE[kind])) from None


def _product_of(app: MiniApp, product_public_id: str):
    try:
        return access_product(merchant=app.merchant, public_id=product_public_id)
    except Http404:
        raise MiniAppError(_("Choose one of your products.")) from None


def code_update(*, entry: EntryCode, name: str, expires_at: datetime | None) -> EntryCode:
    """Rename a code and set (or clear) its expiry. A new expiry must be in the future; the
    one it has may stay as it is (renaming an expired code does not need a new date)."""
    fields = {"name": _clean_name(name)}
    if expires_at != entry.expires_at:
        fields["expires_at"] = _clean_expiry(expires_at)
    EntryCode.objects.filter(pk=entry.pk).update(**fields)
    for field, value in fields.items():
        setattr(entry, field, value)
    return entry


def table_codes_create(
    *, app: MiniApp, labels: list[str], scene_param: str = "", expires_at=None
) -> list[EntryCode]:
    """Create codes for tables; labels that already have a code (with this scene parameter)
    keep theirs."""
    scene_param = clean_scene_param(scene_param)
    expires_at = _clean_expiry(expires_at)
    cleaned = []
    for label in labels:
        if not label.strip():
            continue
        label = _clean_label(label)
        if label not in cleaned:
            cleaned.append(label)
    if not cleaned:
        raise MiniAppError(_("Give at least one table number or name."))
    tables = EntryCode.objects.filter(app=app, kind=EntryCode.Kind.TABLE)
    existing = set(tables.filter(scene_param=scene_param).values_list("table_label", flat=True))
    new = [label for label in cleaned if label not in existing]
    if tables.count() + len(new) > MAX_TABLES:
        raise MiniAppError(_("A mini app has at most %(n)d table codes.") % {"n": MAX_TABLES})
    with transaction.atomic():
        for label in new:
            EntryCode.objects.create(
                merchant_id=app.merchant_id,
                app=app,
                kind=EntryCode.Kind.TABLE,
                table_label=label,
                scene_param=scene_param,
                expires_at=expires_at,
            )
    return list(codes_of(app))


def parse_table_range(text: str) -> list[str]:
    """'1-12' → ['1', ..., '12']; 'Patio, Bar' (or 露台，吧台、包间) → ['Patio', 'Bar']."""
    labels: list[str] = []
    for part in re.split(r"[,，、]", text):
        part = part.strip()
        match = re.fullmatch(r"(\d{1,4})\s*[-–~～]\s*(\d{1,4})", part)
        if match:
            start, end = int(match[1]), int(match[2])
            if end < start or end - start >= MAX_TABLES:
                raise MiniAppError(_("That range of tables is not valid."))
            labels.extend(str(n) for n in range(start, end + 1))
        elif part:
            labels.append(part)
    return labels


def codes_of(app: MiniApp):
    return EntryCode.objects.filter(app=app).order_by("kind", "id")


def codes_with_scans(app: MiniApp):
    """The app's codes, each with `scans` (visits through it, any state) and its product:
    one query for the console's list."""
    return (
        EntryCode.objects.filter(app=app)
        .select_related("product")
        .annotate(scans=Count("visit"))
        .order_by("id")
    )


def code_status(entry: EntryCode, *, now: datetime | None = None) -> str:
    """CODE_WORKING, CODE_DISABLED or CODE_EXPIRED (a switched-off code says disabled)."""
    if not entry.enabled:
        return CODE_DISABLED
    if entry.expires_at is not None and entry.expires_at <= (now or timezone.now()):
        return CODE_EXPIRED
    return CODE_WORKING


def access_code(*, merchant: Merchant, code: str) -> EntryCode:
    if not is_public_id(code, CODE_LENGTH):
        raise Http404
    entry = EntryCode.objects.for_merchant(merchant).select_related("app").filter(code=code).first()
    if entry is None:
        raise Http404
    return entry


def code_set_enabled(*, entry: EntryCode, enabled: bool) -> None:
    EntryCode.objects.filter(pk=entry.pk).update(enabled=enabled)
    entry.enabled = enabled


def _scannable(code: str):
    """Codes of live apps (published, merchant active) with this code, any state."""
    return EntryCode.objects.select_related("app", "app__merchant", "app__store").filter(
        code=code, app__status=MiniApp.Status.PUBLISHED, app__merchant__is_active=True
    )


def code_lookup(code: str) -> tuple[EntryCode, str] | None:
    """What a scanned /s/<code> is: (the code, its status) for a code of a live app, working
    or not; None for an unknown code or one whose app is not live (the unavailable page).
    shell/page.py code_state answers the same with one prepared query."""
    if not is_public_id(code, CODE_LENGTH):
        return None
    entry = _scannable(code).first()
    if entry is None:
        return None
    return entry, code_status(entry)


def code_resolve(code: str) -> EntryCode | None:
    """What a scanned /s/<code> opens: a working code (enabled, not expired) of a live app."""
    found = code_lookup(code)
    if found is None or found[1] != CODE_WORKING:
        return None
    return found[0]


def code_url(entry: EntryCode) -> str:
    return absolute_url("shell:scan", entry.code)


def _qr(entry: EntryCode):
    return _qr_of(code_url(entry))


@lru_cache(maxsize=2048)
def _qr_of(url: str):
    """The QR symbol of a URL (segno picks the best of eight masks: three quarters of the
    cost), remembered: the console shows and prints the same codes again and again."""
    return segno.make(url, error="m")


def code_svg(entry: EntryCode, *, scale: int = 4, omitsize: bool = False) -> bytes:
    """The code as SVG; omitsize gives a viewBox instead of a fixed size (scales with CSS)."""
    out = io.BytesIO()
    _qr(entry).save(out, kind="svg", scale=scale, border=2, xmldecl=False, omitsize=omitsize)
    return out.getvalue()


# PNG sizes offered for download, in pixels a side: a screen or a slide, a printed flyer, a
# poster. 1024 px at 300 dpi prints 8.7 cm wide.
PNG_SIZES = (256, 1024, 2048)
PNG_DEFAULT_SIZE = 1024
QR_BORDER = 4  # modules of quiet zone, as the standard asks


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


# --- visits -------------------------------------------------------------------------------


# How long a visit's door is credited with the orders that follow it (docs/decisions).
ATTRIBUTION_WINDOW = timedelta(days=7)


# The table name is the model's own, never input; the values go as parameters.
_FIRST_VISIT_SQL = (
    f"SELECT 1 FROM {Visit._meta.db_table} WHERE merchant_id = %s AND customer_id = %s LIMIT 1"  # noqa: E501, S608
)


def _first_visit(*, merchant_id: int, customer_id: int) -> bool:
    """Whether the customer has never visited this merchant: one lookup on the (merchant,
    customer) index. Plain SQL: on every scan and entry, the ORM's building and compiling of
    this query cost as much as the visit's insert (bench/: scan CPU per request)."""
    with connections[router.db_for_write(Visit)].cursor() as cursor:
        cursor.execute(_FIRST_VISIT_SQL, [merchant_id, customer_id])
        return cursor.fetchone() is None


def visit_record(
    *,
    app: MiniApp,
    customer,
    scene: str,
    code: EntryCode | None = None,
    code_state: str = "",
    share: ShareLink | None = None,
) -> Visit:
    """Record a customer coming into the app through a door.

    `first` marks the customer's first visit to this merchant (through any of its apps): a
    new customer, credited to this door and to the share link that brought them. One query
    on the (merchant, customer) index decides it. A share link counts only for its own app
    and never for its own sharer (the visit stays scene `share`, with no credit).
    """
    if scene not in Scene.values:
        scene = Scene.DIRECT
    if share is not None and (share.app_id != app.pk or share.sharer_id == customer.pk):
        share = None
    first = _first_visit(merchant_id=app.merchant_id, customer_id=customer.pk)
    return Visit.objects.create(
        merchant_id=app.merchant_id,
        app=app,
        customer=customer,
        scene=scene,
        code=code,
        table_label=code.table_label if code else "",
        # The scanned code's parameter and state ("" working, "disabled", "expired").
        scene_param=code.scene_param if code else "",
        code_state=code_state if code else "",
        share=share,
        first=first,
    )


def entry_door(*, app: MiniApp, customer, now=None) -> tuple[str, int | None]:
    """(scene, share link id) of the door the customer last came into this app by, within
    ATTRIBUTION_WINDOW: what an order placed now is credited to. ("", None) when none.

    Last touch: a later visit through another door (a table's code, a search) takes the
    credit from an earlier shared link. Served by the (customer, -created_at) index.
    """
    since = (now or timezone.now()) - ATTRIBUTION_WINDOW
    row = (
        Visit.objects.filter(customer=customer, created_at__gte=since, app_id=app.pk)
        .order_by("-created_at", "-pk")
        .values_list("scene", "share_id")
        .first()
    )
    return row if row is not None else ("", None)


def visits_move(*, source, target) -> None:
    """A guest's visits become the account's. Where both had come to the same merchant, only
    the earlier of the two first visits stays first (one new customer, not two)."""
    Visit.objects.filter(customer=source).update(customer=target)
    kept: dict[int, int] = {}
    extra = []
    for pk, merchant_id in (
        Visit.objects.filter(customer=target, first=True)
        .order_by("created_at", "pk")
        .values_list("pk", "merchant_id")
    ):
        if merchant_id in kept:
            extra.append(pk)
        else:
            kept[merchant_id] = pk
    if extra:
        Visit.objects.filter(pk__in=extra).update(first=False)


# The customer's recently used apps (with removals and favourites): discovery.services.


# --- share links --------------------------------------------------------------------------

SHARE_TOKEN_LENGTH = ShareLink._meta.get_field("token").id_length


def share_link_for(*, app: MiniApp, customer) -> ShareLink:
    """The customer's link for sharing this app, made on first use.

    Race-safe: two requests making it at once both try to insert, the unique constraint on
    (app, sharer) lets one row in, and the other reads that row.
    """
    for _attempt in range(3):
        found = ShareLink.objects.filter(app_id=app.pk, sharer_id=customer.pk).first()
        if found is not None:
            return found
        try:
            with transaction.atomic():
                return ShareLink.objects.create(
                    merchant_id=app.merchant_id, app_id=app.pk, sharer_id=customer.pk
                )
        except IntegrityError:
            continue  # the other writer's row (or, once in a blue moon, a token taken)
    raise IntegrityError("share link: no row after three attempts")


def share_resolve(*, app: MiniApp, token) -> ShareLink | None:
    """The share link a token names for this app; None for anything else (unknown, malformed,
    too long, another app's). A token names a sharer, never an app: the app is the URL's."""
    if not is_public_id(token, SHARE_TOKEN_LENGTH):
        return None
    return ShareLink.objects.filter(app_id=app.pk, token=token).first()


@dataclass(frozen=True)
class Recredit:
    """What was credited to share links `share_ids` is credited to `to` (None: to no one);
    only the customer `customer_id`'s when one is given."""

    share_ids: tuple[int, ...]
    to: int | None
    customer_id: int | None = None


def share_recredits(*, source, target) -> list[Recredit]:
    """Merging the guest `source` into the account `target`: where both have a link for the
    same app the account's stays and what the guest's brought is credited to it; what either
    link credited to the account itself (the sharer visiting through their own link) is
    credited to no one. Reads only: the merge applies it to whatever credits links (visits
    here, orders in ordering) before share_links_move drops the guest's duplicates."""
    theirs = dict(ShareLink.objects.filter(sharer=target).values_list("app_id", "pk"))
    recredits = []
    for pk, app_id in ShareLink.objects.filter(sharer=source).values_list("pk", "app_id"):
        if app_id in theirs:
            recredits.append(Recredit((pk,), theirs[app_id]))
    own = tuple(
        ShareLink.objects.filter(sharer__in=[source, target])
        .exclude(pk__in=[pk for r in recredits for pk in r.share_ids])
        .values_list("pk", flat=True)
    )
    if own:
        recredits.append(Recredit(own, None, target.pk))
    return recredits


def share_links_move(*, source, target, recredits: list[Recredit]) -> None:
    """The guest's share links become the account's (inside the merge's transaction), their
    visits recredited as share_recredits said; the guest's duplicates are dropped."""
    for recredit in recredits:
        visits = Visit.objects.filter(share_id__in=recredit.share_ids)
        if recredit.customer_id is not None:
            visits = visits.filter(customer_id=recredit.customer_id)
        visits.update(share=recredit.to)
    dropped = [pk for r in recredits if r.to is not None for pk in r.share_ids]
    ShareLink.objects.filter(pk__in=dropped).delete()
    ShareLink.objects.filter(sharer=source).update(sharer=target)


def share_label(token: str) -> str:
    """What the console shows for a sharer: stable, opaque, and not the token itself (which
    would let anyone who sees it make links crediting that sharer)."""
    return salted_hmac("tapgo.share-label", token, algorithm="sha256").hexdigest()[:8].upper()
