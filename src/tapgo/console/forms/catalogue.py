"""A mini app, its catalogue (categories, products, variants) and its table codes."""

from typing import TYPE_CHECKING

from django import forms
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from tapgo.catalog.models import Category
from tapgo.catalog.services import VariantInput, categories_of
from tapgo.console.forms.fields import MoneyField
from tapgo.console.forms.merchant import TranslatedForm
from tapgo.miniapps.models import Template

if TYPE_CHECKING:
    pass


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
