"""The console's money pages: refunds on an order, the stored-value card (bonus tiers, members,
top-ups at the counter), payment providers, and settlement reports (by day, and a day's
sales order by order: gross, discount, net).

Thin views like the rest of the console: they read the request, call a service of ordering or
payments, and render. Refunds, card settings, providers and settling are for owners; staff
take top-ups at the counter and see the members and the reports.
"""

import csv
import uuid
from datetime import date

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tapgo.console import forms
from tapgo.console.views.base import form_errors, merchant_view, render_console
from tapgo.core.money import amount_input, format_money
from tapgo.core.urls import absolute_url
from tapgo.flows import refunds
from tapgo.identity.services import customer_from_public_id
from tapgo.membership import services as membership
from tapgo.merchants.models import Role
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Order, TableShare
from tapgo.payments import credentials, providers, reports, stored_value
from tapgo.payments import services as payments
from tapgo.payments.models import BonusTier, ProviderAccount, Purpose, Refund

# The real providers a merchant can set up here (each only once its module is installed).
PROVIDER_NAMES = ("stripe", "wechatpay")


def _money(amount: int, merchant) -> str:
    return format_money(amount, merchant.currency)


def _provider_label(name: str) -> str:
    if name == providers.WALLET:
        return _("Stored value")
    impl = providers.get(name)
    return str(impl.label) if impl is not None else name


# --- refunds ------------------------------------------------------------------------------


def order_money(request, order, lines) -> dict:
    """What the order page shows of money: each payment with what was refunded of it, each
    refund with its status, and (for owners, while something is left) the refund form."""
    intents = list(payments.intents_of(Purpose.ORDER, order.pk))
    for intent in intents:
        intent.label = _provider_label(intent.provider)
    refunds = list(
        Refund.objects.for_merchant(request.merchant)
        .filter(intent__purpose=Purpose.ORDER, intent__purpose_id=order.pk)
        .select_related("intent", "created_by")
        .order_by("id")
    )
    for refund in refunds:
        refund.label = _provider_label(refund.intent.provider)
    refundable = payments.refundable(Purpose.ORDER, order.pk) if order.paid_at else 0
    for line in lines:
        line.refundable = line.quantity - line.refunded_quantity
    return {
        "payments": intents,
        "refunds": refunds,
        "refundable": refundable,
        "can_refund": request.role == Role.OWNER and refundable > 0,
    }


@merchant_view(owner_only=True)
@require_POST
def order_refund(request, merchant, order_id: str):
    order = ordering.access_order_for_merchant(merchant=merchant, public_id=order_id)
    form = forms.RefundForm(request.POST, lines=order.lines.all(), currency=merchant.currency)
    if not form.is_valid():
        messages.error(request, form_errors(form))
    else:
        data = form.cleaned_data
        by_items = data["mode"] == "items"
        try:
            made = refunds.order_refund(
                order=order,
                lines=form.quantities() if by_items else None,
                amount=None if by_items else data["amount"],
                restock=by_items and data["restock"],
                fee=by_items and data["fee"],
                reason=data["reason"],
                by=request.user,
            )
        except ordering.OrderingError as error:
            messages.error(request, str(error))
        else:
            amount = sum(refund.amount for refund in made)
            messages.success(
                request, _("Refunded %(amount)s.") % {"amount": _money(amount, merchant)}
            )
    return redirect("console:order", merchant.public_id, order.public_id)


# --- the stored-value card ----------------------------------------------------------------


def _tier_or_404(merchant, value: str) -> BonusTier:
    tier = None
    if value and value.isdigit() and len(value) < 19:
        tier = BonusTier.objects.for_merchant(merchant).filter(pk=int(value)).first()
    if tier is None:
        raise Http404
    return tier


@merchant_view(owner_only=True)
@require_http_methods(["GET", "POST"])
def card_settings(request, merchant):
    """Bonus tiers: pay at least X, get Y more on the card. A tier with the same X is edited."""
    currency = merchant.currency
    form = forms.TierForm(currency=currency)
    if request.method == "POST":
        if request.POST.get("tier"):  # editing a tier's bonus: the tier must be ours
            tier = _tier_or_404(merchant, request.POST["tier"])
            data = request.POST.copy()
            data["pay"] = amount_input(tier.pay, currency)
            form = forms.TierForm(data, currency=currency)
        else:
            form = forms.TierForm(request.POST, currency=currency)
        if form.is_valid():
            try:
                stored_value.tier_set(
                    merchant=merchant,
                    pay=form.cleaned_data["pay"],
                    bonus=form.cleaned_data["bonus"],
                )
            except stored_value.StoredValueError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, _("Bonus tier saved."))
                return redirect("console:card_settings", merchant.public_id)
        else:
            messages.error(request, form_errors(form))
    tiers = [
        {"tier": t, "pay": amount_input(t.pay, currency), "bonus": amount_input(t.bonus, currency)}
        for t in stored_value.tiers(merchant)
    ]
    return render_console(
        request,
        "console/money_card.html",
        {"form": form, "tiers": tiers, "max_tiers": stored_value.MAX_TIERS},
    )


@merchant_view(owner_only=True)
@require_POST
def tier_delete(request, merchant):
    tier = _tier_or_404(merchant, request.POST.get("tier", ""))
    stored_value.tier_delete(merchant=merchant, tier_id=tier.pk)
    messages.success(request, _("Bonus tier deleted."))
    return redirect("console:card_settings", merchant.public_id)


def _topup(request, merchant, form):
    """Record a counter top-up from a valid form; None with a form error when refused."""
    data = form.cleaned_data
    customer = customer_from_public_id(data["code"])
    if customer is None:  # a member shows the card's rotating member code instead
        try:
            customer = membership.code_find(merchant=merchant, text=data["code"])[0].customer
        except membership.CodeError:
            customer = None
    if customer is None:
        form.add_error("code", _("No customer has this code. Check it and try again."))
        return None
    try:
        return stored_value.topup_counter(
            merchant=merchant,
            customer=customer,
            amount=data["amount"],
            key=data["key"],
            by=request.user,
        )
    except stored_value.GuestCard as error:
        form.add_error("code", str(error))
        return None
    except stored_value.StoredValueError as error:
        form.add_error(None, str(error))
        return None


@merchant_view()
@require_http_methods(["GET", "POST"])
def members(request, merchant):
    """Card holders and their balances, the total owed to them, and the counter top-up."""
    form = forms.TopUpForm(initial={"key": uuid.uuid4().hex}, currency=merchant.currency)
    if request.method == "POST":
        form = forms.TopUpForm(request.POST, currency=merchant.currency)
        if form.is_valid():
            topup = _topup(request, merchant, form)
            if topup is not None:
                who = topup.customer.email
                if topup.bonus:
                    text = _("Added %(amount)s and a bonus of %(bonus)s to %(who)s's card.")
                else:
                    text = _("Added %(amount)s to %(who)s's card.")
                messages.success(
                    request,
                    text
                    % {
                        "amount": _money(topup.amount, merchant),
                        "bonus": _money(topup.bonus, merchant),
                        "who": who,
                    },
                )
                return redirect("console:members", merchant.public_id)
        # Nothing was recorded with this key: the corrected form gets a fresh one.
        fresh = request.POST.copy()
        fresh["key"] = uuid.uuid4().hex
        form.data = fresh
    return render_console(
        request,
        "console/money_members.html",
        {
            "form": form,
            "members": list(stored_value.members(merchant)),
            "liability": stored_value.liability(merchant),
            "topups": list(stored_value.topups(merchant, limit=20)),
        },
    )


# --- payment providers --------------------------------------------------------------------


def _provider_forms(merchant, data=None, posted: str | None = None) -> list[dict]:
    accounts = {
        account.provider: account
        for account in ProviderAccount.objects.for_merchant(merchant).filter(
            provider__in=PROVIDER_NAMES
        )
    }
    found = []
    for name in PROVIDER_NAMES:
        impl = providers.get(name)
        if impl is None:
            continue
        account = accounts.get(name)
        found.append(
            {
                "name": name,
                "provider": impl,
                "account": account,
                "form": forms.ProviderForm(
                    data if name == posted else None, provider=impl, account=account
                ),
                "webhook_url": (
                    absolute_url("payments:account_webhook", name, account.public_id)
                    if account is not None
                    else ""
                ),
            }
        )
    return found


def _sandbox_form(merchant, data=None):
    """The sandbox's choice, where the operator allows test payments at all."""
    if not settings.SANDBOX_PAYMENTS:
        return None
    initial = {"offer": credentials.sandbox_offer(merchant)}
    return forms.SandboxForm(data, initial=initial, prefix="sandbox")


@merchant_view(owner_only=True)
@require_http_methods(["GET", "POST"])
def payment_providers(request, merchant):
    """Each provider's settings with "Test connection" and "Save" (a provider is switched
    on only once a test with its settings has worked), the sandbox's choice, and what
    customers meet with it all."""
    posted = request.POST.get("provider") if request.method == "POST" else None
    items = _provider_forms(merchant, request.POST, posted)
    sandbox_form = _sandbox_form(merchant, request.POST if posted == "sandbox" else None)
    if posted == "sandbox" and sandbox_form is not None:
        if sandbox_form.is_valid():
            credentials.sandbox_set(merchant=merchant, offer=sandbox_form.cleaned_data["offer"])
            messages.success(request, _("Test payments saved."))
            return redirect("console:payment_providers", merchant.public_id)
    elif posted is not None:
        item = next((i for i in items if i["name"] == posted), None)
        if item is None:
            messages.error(request, _("Unknown payment provider."))
            return redirect("console:payment_providers", merchant.public_id)
        form = item["form"]
        if form.is_valid():
            config, secrets, enabled = form.values()
            label = item["provider"].label
            try:
                if request.POST.get("action") == "test":
                    account = credentials.connect(
                        merchant=merchant, provider=posted, config=config, secrets=secrets
                    )
                else:
                    account = credentials.save(
                        merchant=merchant,
                        provider=posted,
                        config=config,
                        secrets=secrets,
                        enabled=enabled,
                    )
            except credentials.CredentialsError as error:
                form.add_error(None, str(error))
            else:
                if request.POST.get("action") == "test":
                    text = _("The connection to %(provider)s works.") % {"provider": label}
                    if not account.enabled:
                        text += " " + _("Tick “Take payments with this provider” and save.")
                else:
                    text = _("%(provider)s saved.") % {"provider": label}
                messages.success(request, text)
                return redirect("console:payment_providers", merchant.public_id)
    # A form sent back with an error keeps its typed settings out of the page; nothing of
    # them was stored, so what customers meet is what it was.
    return render_console(
        request,
        "console/money_providers.html",
        {
            "items": items,
            "sandbox_form": sandbox_form,
            "customers": payments.customer_view(merchant),
        },
    )


# --- settlement reports -------------------------------------------------------------------

COLUMNS = (
    ("gross", lambda: _("Gross sales")),
    ("discount", lambda: _("Discounts")),
    ("sales", lambda: _("Net sales")),
    ("tips", lambda: _("Tips")),
    ("refunds", lambda: _("Refunds")),
    ("discount_back", lambda: _("Discounts returned")),
    ("fees", lambda: _("Fees")),
    ("bonus", lambda: _("Bonus given")),
    ("sold", lambda: _("Stored value sold")),
    ("spent", lambda: _("Stored value spent")),
    ("counter_cash", lambda: _("Cash taken at the counter")),
    ("net", lambda: _("Net payout")),
)


def _cells(figures) -> list[tuple[str, int]]:
    return [(key, getattr(figures, key)) for key, _label in COLUMNS]


@merchant_view()
@require_GET
def report(request, merchant):
    days = reports.recent(merchant)
    total = reports.total(days)
    for day in days:
        day.cells = _cells(day)
    return render_console(
        request,
        "console/money_reports.html",
        {
            "days": days,
            "total": total,
            "total_cells": _cells(total),
            "columns": [(key, label()) for key, label in COLUMNS],
        },
    )


@merchant_view()
@require_GET
def report_day(request, merchant, day: str):
    """One business day's sales order by order: gross, discount, net, and what refunds gave
    back (with their share of the discount), from the books."""
    try:
        when = date.fromisoformat(day) if len(day) == 10 else None
    except ValueError:
        when = None
    if when is None:
        raise Http404
    sales = reports.orders(merchant, day=when)
    ids = [sale.purpose_id for sale in sales if sale.purpose == Purpose.ORDER]
    orders = {
        order.pk: order
        for order in Order.objects.for_merchant(merchant)
        .filter(pk__in=ids)
        .only("pk", "public_id", "number", "discount_label", "group_id")
    }
    tables = dict(
        TableShare.objects.for_merchant(merchant)
        .filter(pk__in=[s.purpose_id for s in sales if s.purpose == Purpose.SHARE])
        .values_list("pk", "group__table_label")
    )
    rows = []
    for sale in sales:
        order = orders.get(sale.purpose_id) if sale.purpose == Purpose.ORDER else None
        table = tables.get(sale.purpose_id) if sale.purpose == Purpose.SHARE else None
        if order is None and table is None:
            continue  # a top-up, or another business's (never shown)
        rows.append({"sale": sale, "order": order, "table": table})
    summed = reports.Sale(purpose="", purpose_id=0)
    for row in rows:
        for name in ("sales", "discount", "discount_back", "refunds"):
            setattr(summed, name, getattr(summed, name) + getattr(row["sale"], name))
    return render_console(
        request, "console/money_report_day.html", {"day": when, "rows": rows, "total": summed}
    )


@merchant_view()
@require_GET
def report_csv(request, merchant):
    days = list(reversed(reports.recent(merchant)))  # oldest first, as a spreadsheet reads
    currency = merchant.currency
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    first, last = days[0].day, days[-1].day
    response["Content-Disposition"] = content_disposition_header(
        True, f"settlement-{merchant.public_id}-{first}-{last}.csv"
    )
    response.write("\ufeff")  # so spreadsheet programs read UTF-8 (Chinese headers)
    writer = csv.writer(response)
    writer.writerow(
        [_("Date"), _("Currency")] + [label() for _key, label in COLUMNS] + [_("Settled")]
    )
    for day in days:
        writer.writerow(
            [day.day.isoformat(), currency]
            + [amount_input(getattr(day, key), currency) for key, _label in COLUMNS]
            + ["" if day.settled is None else amount_input(day.settled, currency)]
        )
    return response


@merchant_view(owner_only=True)
@require_POST
def settle(request, merchant):
    form = forms.SettleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a day to settle."))
    else:
        day = form.cleaned_data["day"]
        try:
            reports.settle_day(merchant=merchant, day=day)
        except reports.SettlementError as error:
            messages.error(request, str(error))
        else:
            (figures,) = reports.days(merchant, first=day, last=day)
            messages.success(
                request,
                _("%(day)s is settled: %(amount)s paid out.")
                % {"day": day.isoformat(), "amount": _money(figures.settled or 0, merchant)},
            )
    return redirect("console:report", merchant.public_id)
