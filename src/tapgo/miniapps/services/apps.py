"""Mini apps: making and changing one, and finding a live one (published, its merchant active)."""

import re

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils.translation import gettext as _

from tapgo.core import translations as texts
from tapgo.core.ids import is_public_id
from tapgo.merchants.models import Merchant
from tapgo.merchants.services import merchant_store
from tapgo.miniapps.models import EntryCode, MiniApp, Template

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
RESERVED_SLUGS = {"admin", "api", "console", "ops", "me", "static", "media", "pay", "s"}


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


def _translations(merchant: Merchant, given: dict | None) -> dict:
    return texts.clean(
        given, default_language=merchant.language, fields={"name": 60, "description": 300}
    )


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
    translations: dict | None = None,
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
                translations=_translations(merchant, translations),
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
    translations: dict | None = None,
) -> MiniApp:
    """Edit an app; `translations` None keeps its other languages' texts as they are."""
    name, slug = _clean(name, slug, brand_color, app.template)
    fields: dict = {
        "name": name,
        "slug": slug,
        "description": description.strip(),
        "brand_color": brand_color.lower(),
    }
    if logo is not None:
        fields["logo"] = logo
    if cover is not None:
        fields["cover"] = cover
    if translations is not None:
        fields["translations"] = _translations(app.merchant, translations)
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


def live_app_of_merchants(merchant_ids) -> dict[int, MiniApp]:
    """Each merchant's oldest live app, by merchant id (where the merchant has one)."""
    apps = {}
    for found in (
        MiniApp.objects.live().filter(merchant_id__in=merchant_ids).order_by("-created_at")
    ):
        apps[found.merchant_id] = found
    return apps
