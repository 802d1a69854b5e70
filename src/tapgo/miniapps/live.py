"""What a customer's page needs of a live mini app, in one prepared query (core/prepared.py).

Every page of a mini app starts here (the menu is the page Tapgo serves most): the app, its
merchant's currency, whether ordering is paused, the catalogue's version. `AppState` is that
row with named fields; it builds the model instances pages render from, without a query, and
its `key` changes whenever anything it holds changes (the shell caches pages by it).

A scanned code is read the same way: the code, its app's state and whether it works
(`code_state`), by the database's clock.
"""

import dataclasses
import hashlib
from dataclasses import dataclass
from functools import cached_property

from django.db.models import BooleanField, ExpressionWrapper, Q
from django.db.models.functions import Now
from django.http import Http404

from tapgo.core import translations as texts
from tapgo.core.ids import is_public_id
from tapgo.core.prepared import Prepared
from tapgo.merchants.models import Merchant
from tapgo.miniapps.models import EntryCode, MiniApp
from tapgo.miniapps.services.codes import CODE_DISABLED, CODE_EXPIRED, CODE_LENGTH, CODE_WORKING


@dataclass(frozen=True)
class AppState:
    pk: int
    merchant_id: int
    store_id: int
    slug: str
    name: str
    description: str
    brand_color: str
    logo: str
    cover: str
    template: str
    currency: str
    ordering_paused: bool
    pause_reason: str
    catalog_version: int
    translations: object  # the app's names in other languages: a dict, or its JSON text

    @cached_property
    def key(self) -> str:
        """A short hash of every field: what the shell's cached page of this app is keyed by.
        (Computed once per state: the front door keeps a state for a second.)"""
        values = tuple(getattr(self, name) for name in _NAMES)
        return hashlib.blake2b(repr(values).encode(), digest_size=8).hexdigest()

    @cached_property
    def texts(self) -> dict:
        """The app's names and descriptions in other languages, read once per state."""
        if isinstance(self.translations, str):
            return texts.parse(self.translations)
        return self.translations if isinstance(self.translations, dict) else {}

    def app(self) -> MiniApp:
        """The app as a model instance (with its merchant), built from the state: no query.
        Its name and description are those of the language being served (the merchant's
        default one when it gave none in it): the instance is for showing, never saving."""
        name, description = self.name, self.description
        if self.texts:  # (most apps have none: then nothing more per request)
            given = self.texts.get(texts.current()) or {}
            name, description = given.get("name") or name, given.get("description") or description
        app = MiniApp(
            pk=self.pk,
            store_id=self.store_id,
            slug=self.slug,
            name=name,
            description=description,
            brand_color=self.brand_color,
            logo=self.logo,
            cover=self.cover,
            template=self.template,
            status=MiniApp.Status.PUBLISHED,
        )
        app.merchant = Merchant(
            pk=self.merchant_id,
            currency=self.currency,
            ordering_paused=self.ordering_paused,
            pause_reason=self.pause_reason,
            catalog_version=self.catalog_version,
            is_active=True,
        )
        return app

    @classmethod
    def of_app(cls, app: MiniApp) -> "AppState":
        m = app.merchant
        return cls(
            app.pk, app.merchant_id, app.store_id, app.slug, app.name, app.description,
            app.brand_color, app.logo, app.cover, app.template, m.currency,
            bool(m.ordering_paused), m.pause_reason, m.catalog_version, app.translations,
        )  # fmt: skip

    @classmethod
    def of_row(cls, row) -> "AppState":
        row = list(row)
        row[_PAUSED] = bool(row[_PAUSED])  # SQLite answers 0/1
        return cls(*row)


_NAMES = tuple(field.name for field in dataclasses.fields(AppState))
_PAUSED = _NAMES.index("ordering_paused")

# The ORM path of each field, in AppState's order.
PATHS = (
    "pk", "merchant_id", "store_id", "slug", "name", "description", "brand_color", "logo",
    "cover", "template", "merchant__currency", "merchant__ordering_paused",
    "merchant__pause_reason", "merchant__catalog_version", "translations",
)  # fmt: skip
assert len(PATHS) == len(dataclasses.fields(AppState))

_LIVE_APP = Prepared(
    MiniApp, lambda slug: MiniApp.objects.live().filter(slug=slug).values_list(*PATHS)
)


def app_state(slug: str) -> AppState:
    """The live app with this slug (published, merchant active), or 404."""
    row = _LIVE_APP.one(slug)
    if row is None:
        raise Http404
    return AppState.of_row(row)


# A scanned code: the code of a live app, working or not, with whether it has expired by the
# database's clock, its product's public id, and its app's state, as one row.
_CODE_FIELDS = ("pk", "kind", "table_label", "scene_param", "enabled", "expired",
                "product__public_id")  # fmt: skip
_CODE = Prepared(
    EntryCode,
    lambda code: (
        EntryCode.objects.filter(
            code=code,
            app__status=MiniApp.Status.PUBLISHED,
            app__merchant__is_active=True,
        )
        .annotate(expired=ExpressionWrapper(Q(expires_at__lte=Now()), output_field=BooleanField()))
        .values_list(*_CODE_FIELDS, *(f"app__{path}" for path in PATHS))
    ),
)


def code_state(code: str) -> tuple[EntryCode, AppState, str] | None:
    """What a scanned /s/<code> is: the code (with its product's public id as
    `product_public_id`), its app's state and its status (CODE_WORKING, CODE_DISABLED or
    CODE_EXPIRED); None for an unknown code or one whose app is not live."""
    if not is_public_id(code, CODE_LENGTH):
        return None
    row = _CODE.one(code)
    if row is None:
        return None
    at = len(_CODE_FIELDS)
    state = AppState.of_row(row[at:])
    pk, kind, table_label, scene_param, enabled, expired, product_public_id = row[:at]
    entry = EntryCode(
        pk=pk, kind=kind, table_label=table_label, scene_param=scene_param, code=code,
        enabled=bool(enabled), app_id=state.pk, merchant_id=state.merchant_id,
    )  # fmt: skip
    entry.product_public_id = product_public_id or ""
    if not enabled:
        status = CODE_DISABLED
    elif expired:
        status = CODE_EXPIRED
    else:
        status = CODE_WORKING
    return entry, state, status
