"""Forms of the merchant console: they parse and check input; the domain services decide.
One module per part of the console: fields (a price, a time zone), accounts, merchant,
catalogue, money, history; membership (the programme, levels, the counter), rewards and
coupons are imported by their views as modules of their own. The forms of the first six are
importable from here too.
"""

from tapgo.console.forms.accounts import LoginForm, SignupForm
from tapgo.console.forms.catalogue import (
    AppForm,
    BaseVariantFormSet,
    CategoryForm,
    ImageInput,
    ProductForm,
    TableCodesForm,
    VariantForm,
    VariantFormSet,
)
from tapgo.console.forms.fields import AMOUNT_RE, MoneyField, time_zone_choices
from tapgo.console.forms.history import DayField, HistoryForm
from tapgo.console.forms.merchant import (
    InviteForm,
    MerchantForm,
    PauseForm,
    TranslatedForm,
    other_languages,
)
from tapgo.console.forms.money import (
    AMOUNT_INVALID,
    DeliveryZoneForm,
    ProviderForm,
    RefundForm,
    SandboxForm,
    SecretTextarea,
    SettleForm,
    TierForm,
    TopUpForm,
    multiline_fields,
)

__all__ = [
    "AMOUNT_RE",
    "time_zone_choices",
    "MoneyField",
    "LoginForm",
    "SignupForm",
    "MerchantForm",
    "InviteForm",
    "PauseForm",
    "other_languages",
    "TranslatedForm",
    "ImageInput",
    "AppForm",
    "CategoryForm",
    "ProductForm",
    "VariantForm",
    "BaseVariantFormSet",
    "TableCodesForm",
    "VariantFormSet",
    "AMOUNT_INVALID",
    "RefundForm",
    "DeliveryZoneForm",
    "TierForm",
    "TopUpForm",
    "SecretTextarea",
    "multiline_fields",
    "ProviderForm",
    "SandboxForm",
    "SettleForm",
    "DayField",
    "HistoryForm",
]
