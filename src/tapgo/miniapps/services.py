"""Mini apps, their entry codes and the visits that come through them."""

import io
import re

import segno
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils.translation import gettext as _

from tapgo.core.ids import is_public_id
from tapgo.core.scenes import Scene
from tapgo.core.urls import absolute_url
from tapgo.merchants.models import Merchant
from tapgo.merchants.services import merchant_store
from tapgo.miniapps.models import EntryCode, MiniApp, Template, Visit

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


def live_app_of_merchants(merchant_ids) -> dict[int, MiniApp]:
    """Each merchant's oldest live app, by merchant id (where the merchant has one)."""
    apps = {}
    for found in (
        MiniApp.objects.live().filter(merchant_id__in=merchant_ids).order_by("-created_at")
    ):
        apps[found.merchant_id] = found
    return apps


def table_codes_create(*, app: MiniApp, labels: list[str]) -> list[EntryCode]:
    """Create codes for tables; labels that already have a code keep theirs."""
    cleaned = []
    for label in labels:
        label = label.strip()
        if not label:
            continue
        if len(label) > 40:
            raise MiniAppError(_("A table name has at most 40 characters."))
        if label not in cleaned:
            cleaned.append(label)
    if not cleaned:
        raise MiniAppError(_("Give at least one table number or name."))
    existing = set(
        EntryCode.objects.filter(app=app, kind=EntryCode.Kind.TABLE).values_list(
            "table_label", flat=True
        )
    )
    if len(existing | set(cleaned)) > MAX_TABLES:
        raise MiniAppError(_("A mini app has at most %(n)d table codes.") % {"n": MAX_TABLES})
    with transaction.atomic():
        for label in cleaned:
            if label not in existing:
                EntryCode.objects.create(
                    merchant_id=app.merchant_id,
                    app=app,
                    kind=EntryCode.Kind.TABLE,
                    table_label=label,
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


def access_code(*, merchant: Merchant, code: str) -> EntryCode:
    if not is_public_id(code, CODE_LENGTH):
        raise Http404
    entry = EntryCode.objects.for_merchant(merchant).select_related("app").filter(code=code).first()
    if entry is None:
        raise Http404
    return entry


def code_set_enabled(*, entry: EntryCode, enabled: bool) -> None:
    EntryCode.objects.filter(pk=entry.pk).update(enabled=enabled)


def code_resolve(code: str) -> EntryCode | None:
    """What a scanned /s/<code> opens: an enabled code of a live app, or None."""
    if not is_public_id(code, CODE_LENGTH):
        return None
    return (
        EntryCode.objects.select_related("app", "app__merchant", "app__store")
        .filter(
            code=code,
            enabled=True,
            app__status=MiniApp.Status.PUBLISHED,
            app__merchant__is_active=True,
        )
        .first()
    )


def code_url(entry: EntryCode) -> str:
    return absolute_url("shell:scan", entry.code)


def code_svg(entry: EntryCode, *, scale: int = 4, omitsize: bool = False) -> bytes:
    """The code as SVG; omitsize gives a viewBox instead of a fixed size (scales with CSS)."""
    out = io.BytesIO()
    segno.make(code_url(entry), error="m").save(
        out, kind="svg", scale=scale, border=2, xmldecl=False, omitsize=omitsize
    )
    return out.getvalue()


def code_png(entry: EntryCode, *, scale: int = 10) -> bytes:
    out = io.BytesIO()
    segno.make(code_url(entry), error="m").save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


# --- visits -------------------------------------------------------------------------------


def visit_record(*, app: MiniApp, customer, scene: str, code: EntryCode | None = None) -> Visit:
    if scene not in Scene.values:
        scene = Scene.DIRECT
    return Visit.objects.create(
        merchant_id=app.merchant_id,
        app=app,
        customer=customer,
        scene=scene,
        code=code,
        table_label=code.table_label if code else "",
    )


def visits_move(*, source, target) -> None:
    Visit.objects.filter(customer=source).update(customer=target)


def recently_used(customer, *, limit: int = 10) -> list[MiniApp]:
    """The customer's mini apps, most recently visited first (live ones only)."""
    if customer is None or not getattr(customer, "pk", None):
        return []
    seen: list[int] = []
    rows = (
        Visit.objects.filter(customer=customer)
        .order_by("-created_at")
        .values_list("app_id", flat=True)[:200]
    )
    for app_id in rows:
        if app_id not in seen:
            seen.append(app_id)
        if len(seen) == limit:
            break
    apps = {a.pk: a for a in MiniApp.objects.live().filter(pk__in=seen)}
    return [apps[pk] for pk in seen if pk in apps]
