"""Forms of the merchant console: they parse and check input; the domain services decide."""

import datetime
import re
import zoneinfo
from functools import cache
from typing import TYPE_CHECKING

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from tapgo.catalog.models import Category
from tapgo.catalog.services import VariantInput, categories_of
from tapgo.core import translations
from tapgo.core.ids import is_public_id
from tapgo.core.money import MoneyError, amount_input, minor_digits, parse_amount
from tapgo.identity.models import User
from tapgo.merchants.models import Role
from tapgo.miniapps.models import Template
from tapgo.ordering.models import MAX_LINE_QUANTITY, DeliveryZone, Fulfilment, OrderStatus
from tapgo.ordering.services import ORDER_ID_LENGTH
from tapgo.payments import services as payments

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# Digits with an optional decimal part: what a person types for a price. Exponents ("1e9")
# and words never reach parse_amount.
AMOUNT_RE = re.compile(r"^[+-]?\d{1,12}(?:[.,]\d{1,6})?$")


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class MoneyField(forms.CharField):
    """A price typed as a decimal ("26", "26.50"), cleaned to integer minor units."""

    default_error_messages = {
        "invalid": _("Enter a price such as 26 or 26.50."),
        "decimals": _("This currency has at most %(digits)s digits after the decimal point."),
    }

    def __init__(self, *, currency: str, **kwargs):
        self.currency = currency
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("maxlength", "20")  # the pattern below limits it too
        self.widget.attrs.setdefault("inputmode", "decimal")
        self.widget.attrs.setdefault("autocomplete", "off")

    def prepare_value(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            return amount_input(value, self.currency)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        text = value.strip().replace(" ", "")
        if not AMOUNT_RE.match(text):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if "," in text and "." not in text and re.search(r",\d{3}$", text) is None:
            text = text.replace(",", ".")  # "26,50" typed with a decimal comma
        try:
            return parse_amount(text, self.currency)
        except MoneyError:
            raise forms.ValidationError(
                self.error_messages["decimals"],
                code="decimals",
                params={"digits": minor_digits(self.currency)},
            ) from None


# --- accounts -----------------------------------------------------------------------------


class LoginForm(AuthenticationForm):
    """Email and password; the email is matched case-insensitively (stored lower-case)."""

    def clean_username(self):
        return (self.cleaned_data.get("username") or "").strip().lower()


class SignupForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters; not a common password and not only digits."),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, fixed_email: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fixed_email = fixed_email
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        if fixed_email:
            self.fields["email"].initial = fixed_email
            self.fields["email"].disabled = True

    def clean_email(self):
        email = (self.fixed_email or self.cleaned_data["email"]).strip().lower()
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError(
                _("An account with this email already exists. Log in instead.")
            )
        return email

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords are not the same."))
        elif p1:
            try:
                password_validation.validate_password(
                    p1, User(email=cleaned.get("email") or self.fixed_email or "")
                )
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


# --- merchant -----------------------------------------------------------------------------


class MerchantForm(forms.Form):
    name = forms.CharField(label=_("Business name"), max_length=120)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    latitude = forms.DecimalField(
        label=_("Latitude"),
        required=False,
        max_digits=9,
        decimal_places=6,
        min_value=-90,
        max_value=90,
        help_text=_("Optional. Give both latitude and longitude, or neither."),
    )
    longitude = forms.DecimalField(
        label=_("Longitude"),
        required=False,
        max_digits=9,
        decimal_places=6,
        min_value=-180,
        max_value=180,
    )
    opening_hours = forms.CharField(
        label=_("Opening hours"),
        max_length=300,
        required=False,
        help_text=_("As customers should read it, e.g. Mon–Sun 07:30–20:00."),
    )
    time_zone = forms.ChoiceField(label=_("Time zone"), initial="Asia/Shanghai")
    currency = forms.CharField(
        label=_("Currency"),
        max_length=3,
        min_length=3,
        initial="CNY",
        help_text=_("Three-letter code such as CNY, HKD, USD. It cannot be changed later."),
    )
    language = forms.ChoiceField(
        label=_("Default language of your menu"),
        choices=settings.LANGUAGES,
        required=False,  # not given: the language the console is used in
        help_text=_(
            "Names and descriptions are required in this language; customers who read"
            " another one see them when you give no translation. It cannot be changed later."
        ),
    )

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        time_zone = self.fields["time_zone"]
        assert isinstance(time_zone, forms.ChoiceField)  # as declared above
        time_zone.choices = time_zone_choices()
        if editing:
            self.fields["currency"].disabled = True
            self.fields["currency"].help_text = _("The currency cannot be changed.")
            self.fields["language"].disabled = True
            self.fields["language"].help_text = _("The default language cannot be changed.")

    def clean_language(self):
        return self.cleaned_data.get("language") or translations.current()

    def clean_currency(self):
        return self.cleaned_data["currency"].strip().upper()

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("latitude") is None) != (cleaned.get("longitude") is None):
            if not self.has_error("latitude") and not self.has_error("longitude"):
                raise forms.ValidationError(_("Give both latitude and longitude, or neither."))
        return cleaned


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.STAFF)


class PauseForm(forms.Form):
    paused = forms.BooleanField(required=False)
    reason = forms.CharField(label=_("Reason shown to customers"), max_length=200, required=False)


# --- texts in the merchant's other languages -------------------------------------------------


def other_languages(merchant) -> list[tuple[str, "StrOrPromise"]]:
    """The shipped languages other than the merchant's default, as (code, name)."""
    return [(code, name) for code, name in settings.LANGUAGES if code != merchant.language]


class TranslatedForm(forms.Form):
    """A form whose texts (TRANSLATED: field → its limit) also get a field per other language,
    `<field>__<language>`, optional, after the default one; the default one's label says its
    language. `translations()` gives them as the services take them."""

    TRANSLATED: dict[str, int] = {}

    def add_translations(self, merchant, order: list[str]) -> None:
        languages = dict(settings.LANGUAGES)
        ordered = []
        for name in order:
            ordered.append(name)
            if name not in self.TRANSLATED:
                continue
            base = self.fields[name]
            label = base.label
            base.label = _("%(field)s (%(language)s)") % {
                "field": label,
                "language": languages.get(merchant.language, merchant.language),
            }
            for code, language in other_languages(merchant):
                field = forms.CharField(
                    label=_("%(field)s in %(language)s (optional)")
                    % {"field": label, "language": language},
                    max_length=self.TRANSLATED[name],
                    required=False,
                    # (the default field's example is in its language: not copied)
                    widget=type(base.widget)(
                        {k: v for k, v in base.widget.attrs.items() if k != "placeholder"}
                    ),
                )
                field.widget.attrs["lang"] = code
                self.fields[f"{name}__{code}"] = field
                ordered.append(f"{name}__{code}")
        self.order_fields(ordered)

    def translations(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for key, value in self.cleaned_data.items():
            if "__" in key and value:
                field, code = key.split("__", 1)
                out.setdefault(code, {})[field] = value
        return out

    @staticmethod
    def initial_of(obj) -> dict[str, str]:
        """The form's initial values of an object's translations."""
        return {
            f"{field}__{code}": value
            for code, texts in (obj.translations or {}).items()
            for field, value in texts.items()
        }


# --- mini app -----------------------------------------------------------------------------


class ImageInput(forms.FileInput):
    def __init__(self, attrs=None):
        super().__init__({"accept": "image/jpeg,image/png,image/webp,image/gif", **(attrs or {})})


class AppForm(TranslatedForm):
    TRANSLATED = {"name": 60, "description": 300}
    template = forms.ChoiceField(
        label=_("Template"), choices=Template.choices, initial=Template.MENU
    )
    name = forms.CharField(label=_("Name"), max_length=60)
    slug = forms.CharField(
        label=_("Public slug"),
        max_length=40,
    )
    description = forms.CharField(
        label=_("Description"), max_length=300, required=False, widget=forms.Textarea({"rows": 3})
    )
    logo = forms.FileField(
        label=_("Logo"), required=False, widget=ImageInput, help_text=_("Square works best.")
    )
    cover = forms.FileField(label=_("Cover image"), required=False, widget=ImageInput)
    brand_color = forms.CharField(
        label=_("Brand colour"),
        max_length=7,
        initial="#0f766e",
        widget=forms.TextInput(attrs={"type": "color"}),
    )

    def __init__(self, *args, editing: bool = False, merchant=None, address: str = "", **kwargs):
        """address: where the app opens (its current slug, or a placeholder for a new one)."""
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["template"]
        # Help texts are rendered as HTML: escaped here (a "<slug>" once vanished as a tag).
        self.fields["slug"].help_text = escape(
            _("3–40 lowercase letters, digits or dashes; the app opens at %(url)s.")
            % {"url": address}
        )
        if merchant is not None:
            self.add_translations(merchant, list(self.fields))

    def clean_slug(self):
        return self.cleaned_data["slug"].strip().lower()


# --- catalogue ----------------------------------------------------------------------------


class CategoryForm(TranslatedForm):
    TRANSLATED = {"name": 60}
    name = forms.CharField(label=_("Category name"), max_length=60)

    def __init__(self, *args, merchant=None, **kwargs):
        super().__init__(*args, **kwargs)
        if merchant is not None:
            self.add_translations(merchant, ["name"])


class ProductForm(TranslatedForm):
    TRANSLATED = {"name": 80, "description": 500}
    name = forms.CharField(label=_("Name"), max_length=80)
    # Its queryset is the merchant's categories, set in __init__.
    category: "forms.ModelChoiceField[Category]" = forms.ModelChoiceField(
        label=_("Category"), queryset=None, to_field_name="public_id"
    )
    description = forms.CharField(
        label=_("Description"), max_length=500, required=False, widget=forms.Textarea({"rows": 3})
    )
    stock = forms.IntegerField(
        label=_("Stock"),
        required=False,
        min_value=0,
        help_text=_("Leave empty when you do not count stock."),
    )
    image = forms.FileField(label=_("Photo"), required=False, widget=ImageInput)

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = merchant.currency
        self.fields["category"].queryset = categories_of(merchant)
        self.fields["category"].empty_label = None
        self.fields["category"].label_from_instance = lambda category: category.name
        self.fields["price"] = MoneyField(
            label=_("Price"),
            currency=merchant.currency,
            help_text=_("For example 26 or 26.50."),
        )
        self.add_translations(
            merchant, ["name", "category", "price", "description", "stock", "image"]
        )


class VariantForm(TranslatedForm):
    TRANSLATED = {"name": 40}
    name = forms.CharField(label=_("Option"), max_length=40, required=False)
    stock = forms.IntegerField(label=_("Stock"), required=False, min_value=0)

    def __init__(self, *args, currency: str, merchant=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["price"] = MoneyField(label=_("Price"), currency=currency, required=False)
        self.fields["name"].widget.attrs["placeholder"] = _("e.g. Large")
        if merchant is not None:
            self.add_translations(merchant, ["name", "price", "stock"])
        else:
            self.order_fields(["name", "price", "stock"])

    def clean(self):
        cleaned = super().clean()
        name, price = cleaned.get("name"), cleaned.get("price")
        if self.errors:
            return cleaned
        if name and price is None:
            self.add_error("price", _("Give this option a price."))
        elif not name and (price is not None or cleaned.get("stock") is not None):
            self.add_error("name", _("Give this option a name, or clear the row."))
        return cleaned

    def variant(self) -> VariantInput | None:
        data = self.cleaned_data
        if not data.get("name"):
            return None
        return VariantInput(
            name=data["name"],
            price=data["price"],
            stock=data.get("stock"),
            translations=self.translations(),
        )


class BaseVariantFormSet(forms.BaseFormSet):
    def variants(self) -> list[VariantInput]:
        return [v for v in (form.variant() for form in self.forms) if v is not None]


VariantFormSet = forms.formset_factory(
    VariantForm, formset=BaseVariantFormSet, extra=3, max_num=20, absolute_max=40
)


class TableCodesForm(forms.Form):
    tables = forms.CharField(
        label=_("Tables"),
        max_length=2000,
        help_text=_("A range such as 1-12, or names separated by commas such as Patio, Bar."),
    )


# --- money ------------------------------------------------------------------------------

AMOUNT_INVALID = _("Enter an amount such as 20 or 20.50.")


class RefundForm(forms.Form):
    """Refund by item (a quantity per order line, and/or the delivery fee) or by an amount,
    with a reason."""

    mode = forms.ChoiceField(choices=[("items", "items"), ("amount", "amount")])
    restock = forms.BooleanField(label=_("Put the items back in stock"), required=False)
    fee = forms.BooleanField(label=_("Refund the delivery fee"), required=False)
    reason = forms.CharField(label=_("Reason (the customer sees it)"), max_length=200)

    def __init__(self, *args, lines, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        for line in self.lines:
            self.fields[f"line_{line.pk}"] = forms.IntegerField(
                label=line.name,
                required=False,
                min_value=0,
                max_value=MAX_LINE_QUANTITY,
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )
        self.fields["amount"] = MoneyField(
            label=_("Amount"),
            currency=currency,
            required=False,
            help_text=_("For example 8.50."),
            error_messages={"invalid": AMOUNT_INVALID},
        )

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if cleaned["mode"] == "amount":
            if not cleaned.get("amount") or cleaned["amount"] <= 0:
                self.add_error("amount", _("Enter an amount above zero."))
        elif not any(self.quantities().values()) and not cleaned.get("fee"):
            raise forms.ValidationError(_("Choose at least one item to refund."))
        return cleaned

    def quantities(self) -> dict[int, int]:
        return {line.pk: self.cleaned_data.get(f"line_{line.pk}") or 0 for line in self.lines}


class DeliveryZoneForm(forms.Form):
    """A delivery zone: a radius around the store or a named area, with a fee, a minimum
    order before the fee and an estimated time (ordering.zone_add checks the rest)."""

    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=DeliveryZone.Kind.choices,
        initial=DeliveryZone.Kind.RADIUS,
        widget=forms.RadioSelect,
    )
    name = forms.CharField(
        label=_("Name"),
        max_length=80,
        help_text=_(
            "What customers see, e.g. “Within 2 km”, or the district or building of a named area."
        ),
    )
    radius_m = forms.IntegerField(
        label=_("Radius in metres"),
        required=False,
        min_value=1,
        max_value=100_000,
        help_text=_("Radius zones only: as the crow flies from the store's location."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    eta_minutes = forms.IntegerField(
        label=_("Estimated time in minutes"),
        min_value=1,
        max_value=24 * 60,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fee"] = MoneyField(
            label=_("Delivery fee"),
            currency=currency,
            help_text=_("For example 5, or 0 for free delivery."),
            error_messages={"invalid": AMOUNT_INVALID},
        )
        self.fields["minimum"] = MoneyField(
            label=_("Minimum order"),
            currency=currency,
            required=False,
            help_text=_("The items' total before the fee; leave empty for none."),
            error_messages={"invalid": AMOUNT_INVALID},
        )

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == DeliveryZone.Kind.RADIUS and cleaned.get("radius_m") is None:
            if not self.has_error("radius_m"):
                self.add_error("radius_m", _("Give the radius in metres."))
        for name in ("fee", "minimum"):
            value = cleaned.get(name)
            if value is not None and value < 0:
                self.add_error(name, _("Enter an amount of zero or more."))
        return cleaned


class TierForm(forms.Form):
    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pay"] = MoneyField(
            label=_("Customer pays at least"),
            currency=currency,
            help_text=_("For example 500."),
            error_messages={"invalid": AMOUNT_INVALID},
        )
        self.fields["bonus"] = MoneyField(
            label=_("Bonus added to the card"),
            currency=currency,
            help_text=_("For example 50."),
            error_messages={"invalid": AMOUNT_INVALID},
        )


class TopUpForm(forms.Form):
    """A top-up taken at the counter; `key` is the form's one-time key (a double submit is one
    top-up)."""

    code = forms.CharField(
        label=_("Member code"),
        max_length=40,
        help_text=_("Shown on the customer's card page, as text and a QR code."),
    )
    key = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.update({"autocomplete": "off", "autocapitalize": "none"})
        self.fields["amount"] = MoneyField(
            label=_("Cash received"),
            currency=currency,
            help_text=_("For example 200."),
            error_messages={"invalid": AMOUNT_INVALID},
        )
        self.order_fields(["code", "amount", "key"])

    def clean_code(self):
        # Typed from a phone screen: spaces, dashes and capitals are forgiven.
        return re.sub(r"[\s-]", "", self.cleaned_data["code"]).lower()


class SecretTextarea(forms.Textarea):
    """A textarea for a multi-line secret (a PEM private key): never filled back, not even
    with what was just typed into a form that failed."""

    def format_value(self, value):
        return None


def multiline_fields(provider) -> set[str]:
    """Fields holding a PEM key (a single-line input would drop its line breaks): what the
    provider declares, and any public or private key by name."""
    keys = {key for key, _label in (*provider.config_fields, *provider.secret_fields)}
    declared = set(getattr(provider, "multiline_fields", ()))
    return declared | {key for key in keys if key.endswith(("public_key", "private_key"))}


class ProviderForm(forms.Form):
    """A provider's settings as its config_fields and secret_fields describe them. Secrets
    are never shown back: a blank secret keeps the stored one."""

    enabled = forms.BooleanField(label=_("Take payments with this provider"), required=False)

    def __init__(self, *args, provider, account=None, **kwargs):
        config = dict(account.config) if account is not None else {}
        hints = dict(account.hints) if account is not None else {}
        initial = {f"config_{key}": config.get(key, "") for key, _label in provider.config_fields}
        initial["enabled"] = account.enabled if account is not None else False
        super().__init__(*args, prefix=provider.name, initial=initial, **kwargs)
        self.provider = provider
        self.tested = account is not None and account.tested_at is not None
        if not self.tested and not initial["enabled"]:
            # Switched on only once a connection test with these settings has worked (the
            # service refuses it too): the box waits for one.
            self.fields["enabled"].disabled = True
            self.fields["enabled"].help_text = _(
                "Test the connection first: this can be ticked once a test has worked."
            )
        multiline = multiline_fields(provider)
        for key, label in provider.config_fields:
            self.fields[f"config_{key}"] = forms.CharField(
                label=label,
                required=False,
                max_length=8000,
                widget=forms.Textarea({"rows": 4}) if key in multiline else None,
            )
        for key, label in provider.secret_fields:
            hint = hints.get(key)
            self.fields[f"secret_{key}"] = forms.CharField(
                label=label,
                required=False,
                strip=False,
                max_length=8000,
                widget=(
                    SecretTextarea({"rows": 4, "autocomplete": "off", "spellcheck": "false"})
                    if key in multiline
                    else forms.PasswordInput(attrs={"autocomplete": "off"})
                ),
                help_text=(
                    _("Stored: %(hint)s. Leave blank to keep it.") % {"hint": hint}
                    if hint
                    else _("Not set yet.")
                ),
            )
        self.order_fields([name for name in self.fields if name != "enabled"] + ["enabled"])

    def values(self) -> tuple[dict, dict, bool]:
        data = self.cleaned_data
        config = {key: data[f"config_{key}"] for key, _label in self.provider.config_fields}
        secrets = {key: data[f"secret_{key}"] for key, _label in self.provider.secret_fields}
        return config, secrets, data["enabled"]


class SandboxForm(forms.Form):
    offer = forms.ChoiceField(
        label=_("Customers may pay with test payments"),
        choices=[
            ("auto", _("while no provider is on")),
            ("always", _("always, beside any provider that is on")),
            ("never", _("never")),
        ],
        widget=forms.RadioSelect,
    )


class SettleForm(forms.Form):
    day = forms.DateField(input_formats=["%Y-%m-%d"])


# --- the order history's filters (a GET query string: bookmarkable) -------------------------

FIRST_DAY, LAST_DAY = datetime.date(2000, 1, 1), datetime.date(2099, 12, 31)


class DayField(forms.DateField):
    """A day as the browser's date input sends it (2026-12-07), within this century."""

    default_error_messages = {
        "invalid": _("Enter a day such as 2026-12-07."),
        "range": _("Choose a day between 2000-01-01 and 2099-12-31."),
    }

    def __init__(self, **kwargs):
        super().__init__(
            input_formats=["%Y-%m-%d"],
            required=False,
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            **kwargs,
        )

    def to_python(self, value):
        day = super().to_python(value)
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise forms.ValidationError(self.error_messages["range"], code="range")
        return day


class HistoryForm(forms.Form):
    """The order history's filters and search. Every field is optional; a bad one is
    reported and left out, the others still apply (cleaned_data keeps them)."""

    status = forms.ChoiceField(label=_("Status"), required=False)
    fulfilment = forms.ChoiceField(label=_("Fulfilment"), required=False)
    table = forms.CharField(label=_("Table"), max_length=40, required=False)
    method = forms.ChoiceField(label=_("Paid with"), required=False)
    q = forms.CharField(
        label=_("Search"),
        max_length=100,
        required=False,
        help_text=_("A pickup number (A003), a customer’s whole email, or a product"),
    )
    after = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "from" is a keyword in Python: these two are named in the fields mapping.
        self.fields["from"] = DayField(label=_("From"))
        self.fields["to"] = DayField(label=_("To"))
        self.order_fields(["from", "to", "status", "fulfilment", "table", "method", "q"])
        # From the models' choices: a new status, fulfilment or provider appears by itself.
        self.fields["status"].choices = [("", _("Any status")), *OrderStatus.choices]
        self.fields["fulfilment"].choices = [("", _("Any way")), *Fulfilment.choices]
        self.fields["method"].choices = [("", _("Any way to pay")), *payments.method_choices()]
        self.fields["q"].widget.attrs.update(type="search", placeholder="A003")

    def clean_after(self):
        after = self.cleaned_data["after"]
        if after and not is_public_id(after, ORDER_ID_LENGTH):
            raise forms.ValidationError(_("That page of the list does not exist."))
        return after

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("from"), cleaned.get("to")
        if first and last and first > last:
            self.add_error("to", _("The last day comes before the first."))
        return cleaned

    def values(self) -> dict:
        """The fields that are valid (a form with errors keeps its good ones)."""
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name) for name in self.fields if data.get(name)}
