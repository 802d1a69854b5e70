"""The console's entry codes: the list by kind with each code's state and scans, forms to
make codes of every kind, renaming and expiry, switching on and off, and the downloads (SVG,
PNG in three sizes, printable posters in A4 and table-tent size as PDF or PNG).

Thin, like the rest of the console: the forms parse input, miniapps.services decides (the
model's unique constraints decide duplicates), and every code is reached through
access_code with the merchant, so another merchant's code answers 404.
"""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tapgo.catalog import services as catalog
from tapgo.console.forms import TableCodesForm
from tapgo.console.views.base import merchant_view, render_console
from tapgo.miniapps import posters
from tapgo.miniapps import services as miniapps
from tapgo.miniapps.models import EntryCode

Kind = EntryCode.Kind
DATETIME_INPUT = "%Y-%m-%dT%H:%M"


# --- forms --------------------------------------------------------------------------------


class ExpiryField(forms.DateTimeField):
    """A date and time in the store's time zone (the console runs in it), or empty."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_INPUT)

    def __init__(self, **kwargs):
        kwargs.setdefault("label", gettext_lazy("Expires"))
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text", gettext_lazy("Optional. After this the code opens a friendly page.")
        )
        super().__init__(**kwargs)


def _scene_param_field(*, required: bool = False) -> forms.CharField:
    return forms.CharField(
        label=gettext_lazy("Scene parameter"),
        max_length=miniapps.SCENE_PARAM_MAX,
        required=required,
        help_text=gettext_lazy(
            "Up to 32 characters recorded with every scan, such as the flyer's name."
        ),
    )


def _name_field() -> forms.CharField:
    return forms.CharField(
        label=gettext_lazy("Name"),
        max_length=miniapps.CODE_NAME_MAX,
        required=False,
        help_text=gettext_lazy("Optional: for you, and printed on the poster."),
    )


class TablesForm(TableCodesForm):
    scene_param = _scene_param_field()
    expires_at = ExpiryField()


class CodeForm(forms.Form):
    """A store, product or campaign code."""

    def __init__(self, data=None, *, kind: str, products=(), **kwargs):
        super().__init__(data, prefix=kind, **kwargs)
        self.kind = kind
        if kind == Kind.PRODUCT:
            self.fields["product"] = forms.ChoiceField(
                label=gettext_lazy("Product"), choices=[(p.public_id, p.name) for p in products]
            )
        self.fields["name"] = _name_field()
        self.fields["scene_param"] = _scene_param_field(required=kind == Kind.CAMPAIGN)
        self.fields["expires_at"] = ExpiryField()


class CodeEditForm(forms.Form):
    name = _name_field()
    expires_at = ExpiryField(help_text=gettext_lazy("Leave empty for a code that never expires."))


# --- the list -----------------------------------------------------------------------------

SECTIONS = [
    (Kind.STORE, gettext_lazy("Store codes"),
     gettext_lazy("For the counter, the door or a poster: customers order for pickup.")),
    (Kind.TABLE, gettext_lazy("Table codes"),
     gettext_lazy("A table code tells the kitchen where to bring the order.")),
    (Kind.PRODUCT, gettext_lazy("Product codes"),
     gettext_lazy("Opens one product's page: for a shelf, a display or a menu board.")),
    (Kind.CAMPAIGN, gettext_lazy("Campaign codes"),
     gettext_lazy("For a flyer or an ad: its scene parameter tells you how many scans it "
                  "brought.")),
]  # fmt: skip


def code_label(entry: EntryCode) -> str:
    """What the console calls a code."""
    if entry.kind == Kind.TABLE:
        label = _("Table %(label)s") % {"label": entry.table_label}
    elif entry.kind == Kind.PRODUCT:
        product = entry.product.name if entry.product is not None else _("(deleted product)")
        label = _("Product: %(name)s") % {"name": product}
    elif entry.kind == Kind.CAMPAIGN:
        label = _("Campaign “%(param)s”") % {"param": entry.scene_param}
    else:
        label = _("Store code")
    return f"{label} · {entry.name}" if entry.name else label


STATE_LABELS = {
    miniapps.CODE_WORKING: gettext_lazy("Active"),
    miniapps.CODE_DISABLED: gettext_lazy("Disabled"),
    miniapps.CODE_EXPIRED: gettext_lazy("Expired"),
}


def _row(entry: EntryCode, now) -> dict:
    state = miniapps.code_status(entry, now=now)
    return {
        "entry": entry,
        "label": code_label(entry),
        "url": miniapps.code_url(entry),
        "state": state or "active",
        "state_label": STATE_LABELS[state],
        "scans": getattr(entry, "scans", None),
    }


def _forms(request, merchant, kind_posted: str | None):
    """The four creation forms; the one posted is bound to the request's data."""
    data = request.POST if request.method == "POST" else None
    products = list(catalog.products_of(merchant))
    made: dict[str, forms.Form] = {}
    for kind in Kind.values:
        bound = data if kind == kind_posted else None
        if kind == Kind.TABLE:
            made[kind] = TablesForm(bound)
        else:
            made[kind] = CodeForm(bound, kind=kind, products=products)
    return made, products


def _create(app, kind: str, form) -> str:
    """Make the codes a valid form asks for; the success message."""
    data = form.cleaned_data
    if kind == Kind.TABLE:
        labels = miniapps.parse_table_range(data["tables"])
        before = miniapps.codes_of(app).count()
        after = len(
            miniapps.table_codes_create(
                app=app,
                labels=labels,
                scene_param=data.get("scene_param") or "",
                expires_at=data.get("expires_at"),
            )
        )
        created = after - before
        return ngettext("%(n)d new table code.", "%(n)d new table codes.", created) % {"n": created}
    entry = miniapps.code_create(
        app=app,
        kind=kind,
        scene_param=data.get("scene_param") or "",
        name=data.get("name") or "",
        expires_at=data.get("expires_at"),
        product_public_id=data.get("product") or "",
    )
    return _("New code: %(label)s.") % {"label": code_label(entry)}


@merchant_view()
@require_http_methods(["GET", "POST"])
def codes(request, merchant, app_id: str):
    app = miniapps.access_app(merchant=merchant, app_public_id=app_id)
    kind_posted = None
    if request.method == "POST":
        kind_posted = request.POST.get("kind", Kind.TABLE)
        if kind_posted not in Kind.values:
            kind_posted = Kind.TABLE
    made, products = _forms(request, merchant, kind_posted)
    if kind_posted is not None:
        form = made[kind_posted]
        if form.is_valid():
            try:
                messages.success(request, _create(app, kind_posted, form))
            except miniapps.MiniAppError as error:
                field = "tables" if kind_posted == Kind.TABLE else None
                form.add_error(field, str(error))
            else:
                return redirect("console:codes", merchant.public_id, app.public_id)
    now = timezone.now()
    entries = list(miniapps.codes_with_scans(app))
    sections = []
    for kind, title, help_text in SECTIONS:
        rows = [_row(e, now) for e in entries if e.kind == kind]
        sections.append(
            {"kind": kind, "title": title, "help": help_text, "rows": rows, "form": made[kind]}
        )
    store = next((e for e in entries if e.kind == Kind.STORE), None)  # the app's first
    preview = None
    if store is not None:
        # segno's own SVG of our own URL: no user markup in it.
        preview = mark_safe(miniapps.code_svg(store, omitsize=True).decode())  # noqa: S308
    context = {
        "app": app,
        "sections": sections,
        "preview": preview,
        "has_products": bool(products),
        "posters_available": posters.available(),
        "posters_message": "" if posters.available() else posters.unavailable_message(),
        "open_kind": kind_posted,
        "form": made[Kind.TABLE],  # the table form keeps its old name for the template
    }
    return render_console(request, "console/codes.html", context)


@merchant_view()
@require_GET
def codes_print(request, merchant, app_id: str):
    app = miniapps.access_app(merchant=merchant, app_public_id=app_id)
    now = timezone.now()
    cards = [
        {
            "label": e.table_label,
            "url": miniapps.code_url(e),
            # segno's own SVG of our own URL: no user markup in it.
            "svg": mark_safe(miniapps.code_svg(e, omitsize=True).decode()),  # noqa: S308
        }
        for e in miniapps.codes_of(app)
        if e.kind == Kind.TABLE and miniapps.code_status(e, now=now) == miniapps.CODE_WORKING
    ]
    return render_console(request, "console/codes_print.html", {"app": app, "cards": cards})


# --- one code -----------------------------------------------------------------------------


@merchant_view()
@require_POST
def code_enabled(request, merchant, code: str):
    entry = miniapps.access_code(merchant=merchant, code=code)
    enabled = request.POST.get("enabled") == "1"
    miniapps.code_set_enabled(entry=entry, enabled=enabled)
    label = code_label(entry)
    if enabled:
        messages.success(request, _("%(label)s works again.") % {"label": label})
    else:
        messages.success(request, _("%(label)s is disabled.") % {"label": label})
    return redirect("console:codes", merchant.public_id, entry.app.public_id)


@merchant_view()
@require_http_methods(["GET", "POST"])
def code_edit(request, merchant, code: str):
    entry = miniapps.access_code(merchant=merchant, code=code)
    initial = {"name": entry.name, "expires_at": entry.expires_at}
    form = CodeEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        expires_at = _minute_or_same(form.cleaned_data["expires_at"], entry.expires_at)
        try:
            miniapps.code_update(entry=entry, name=form.cleaned_data["name"], expires_at=expires_at)
        except miniapps.MiniAppError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("%(label)s is saved.") % {"label": code_label(entry)})
            return redirect("console:codes", merchant.public_id, entry.app.public_id)
    context = {
        "app": entry.app,
        "row": _row(entry, timezone.now()),
        "form": form,
    }
    return render_console(request, "console/code_edit.html", context)


def _minute_or_same(value, current):
    """The form shows an expiry to the minute: sent back unchanged, it is the same expiry."""
    if value is not None and current is not None:
        if value == current.replace(second=0, microsecond=0):
            return current
    return value


def _filename(entry: EntryCode, suffix: str) -> str:
    if entry.kind == Kind.STORE:
        name = "store"
    elif entry.kind == Kind.TABLE:
        name = "table-" + (slugify(entry.table_label, allow_unicode=True) or entry.code)
    elif entry.kind == Kind.PRODUCT:
        product = entry.product.name if entry.product is not None else ""
        name = "product-" + (slugify(product, allow_unicode=True) or entry.code)
    else:
        name = "campaign"
    if entry.scene_param:
        name += "-" + (slugify(entry.scene_param, allow_unicode=True) or entry.code)
    return f"{entry.app.slug}-{name}{suffix}"


def _download(data: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def _problem(request, entry: EntryCode, message: str, *, status: int) -> HttpResponse:
    context = {"message": message, "app": entry.app}
    return render_console(request, "console/code_problem.html", context, status=status)


@merchant_view()
@require_GET
def code_download(request, merchant, code: str, fmt: str):
    """The code as SVG, or as a PNG of ?size=256|1024|2048 pixels (1024 when not given)."""
    entry = miniapps.access_code(merchant=merchant, code=code)
    if fmt == "svg":
        return _download(
            miniapps.code_svg(entry, scale=10), "image/svg+xml", _filename(entry, ".svg")
        )
    asked = request.GET.get("size")
    size = miniapps.PNG_DEFAULT_SIZE
    if asked is not None:
        size = int(asked) if asked.isascii() and asked.isdigit() and len(asked) < 6 else -1
    try:
        data = miniapps.code_png(entry, size=size)
    except miniapps.MiniAppError as error:
        return _problem(request, entry, str(error), status=400)
    suffix = f"-{size}px.png" if asked is not None else ".png"
    return _download(data, "image/png", _filename(entry, suffix))


@merchant_view()
@require_GET
def code_poster(request, merchant, code: str, fmt: str):
    """A printable poster: ?size=a4|tent (a4), ?lang=en|zh-hans (the console's language)."""
    entry = miniapps.access_code(merchant=merchant, code=code)
    size = request.GET.get("size", "a4")
    language = request.GET.get("lang")
    if language is None:  # the console's own language
        language = translation.get_language()
        language = language if language in posters.LANGUAGES else "en"
    try:
        make = posters.pdf if fmt == "pdf" else posters.png
        data = make(entry, size=size, language=language)
    except posters.PosterError as error:
        return _problem(request, entry, str(error), status=400)
    except posters.PosterUnavailable as error:
        return _problem(request, entry, str(error), status=503)
    content_type = "application/pdf" if fmt == "pdf" else "image/png"
    return _download(data, content_type, _filename(entry, f"-poster-{size}.{fmt}"))
