"""Entry codes: table, store, product and campaign codes, what merchants may name and label
them, and what a scanned code is."""

import re
import unicodedata
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import CharField, Count
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tapgo.catalog.services import access_product
from tapgo.core.ids import is_public_id
from tapgo.merchants.models import Merchant
from tapgo.miniapps.models import EntryCode, MiniApp
from tapgo.miniapps.services.apps import MiniAppError

MAX_TABLES = 500
CODE_LENGTH = EntryCode._meta.get_field("code").id_length


def _max_length(name: str) -> int:
    """The max_length of one of EntryCode's text fields."""
    field = EntryCode._meta.get_field(name)
    assert isinstance(field, CharField) and field.max_length is not None, name
    return field.max_length


# What a scanned code was: working, or still known but switched off or past its expiry. The
# last two open a friendly page of the (live) app, and the visit records which one it was.
CODE_WORKING, CODE_DISABLED, CODE_EXPIRED = "", "disabled", "expired"
SCENE_PARAM_MAX = _max_length("scene_param")
CODE_NAME_MAX = _max_length("name")
TABLE_LABEL_MAX = _max_length("table_label")
# Unicode categories refused in merchant text: controls, format characters (bidi overrides,
# zero-width spaces; the zero-width joiner of emoji sequences is let through), surrogates,
# private use, unassigned, and line/paragraph separators.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_ALLOWED_FORMAT = {"\u200d"}


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
        raise MiniAppError(str(_DUPLICATE[EntryCode.Kind(kind)])) from None


def _product_of(app: MiniApp, product_public_id: str):
    try:
        return access_product(merchant=app.merchant, public_id=product_public_id)
    except Http404:
        raise MiniAppError(_("Choose one of your products.")) from None


def code_update(*, entry: EntryCode, name: str, expires_at: datetime | None) -> EntryCode:
    """Rename a code and set (or clear) its expiry. A new expiry must be in the future; the
    one it has may stay as it is (renaming an expired code does not need a new date)."""
    fields: dict[str, object] = {"name": _clean_name(name)}
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
