"""The console's tables and how the shop is paid: the tables that pay after eating with
their bills (closed at the counter, cash or card), clearing a table, how dine-in is paid and
the tips customers may add, and giving a tip back on its own."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tapgo.console.views.base import merchant_view, render_console
from tapgo.core.actors import Actor
from tapgo.flows import refunds
from tapgo.flows import tables as table_flows
from tapgo.merchants import services as merchants
from tapgo.merchants.models import DineInPayment
from tapgo.ordering import services as ordering


@merchant_view()
@require_GET
def tables(request, merchant):
    return render_console(
        request, "console/tables.html", {"bills": ordering.unpaid_tables(merchant.pk)}
    )


def _group(merchant, group_id: str):
    group = ordering.access_group(public_id=group_id, merchant_id=merchant.pk)
    if group is None:
        raise Http404
    return group


@merchant_view()
@require_POST
def table_close(request, merchant, group_id: str):
    """Staff take what is left at the counter (cash or card), or clear a table owing
    nothing."""
    group = _group(merchant, group_id)
    method = request.POST.get("method", "")
    try:
        if group.pay_after:
            share = table_flows.counter_close(
                group=group, method=method, actor=Actor.staff(request.user)
            )
            if share is not None:
                messages.success(
                    request,
                    _("Table %(table)s paid at the counter.") % {"table": group.table_label},
                )
        else:
            ordering.group_close(group=group, by=request.user.email)
    except ordering.OrderingError as error:
        messages.error(request, str(error))
    else:
        if not group.pay_after:
            messages.success(request, _("Table %(table)s is free.") % {"table": group.table_label})
    return redirect("console:tables", merchant.public_id)


class OrderingSettingsForm(forms.Form):
    dine_in_payment = forms.ChoiceField(
        label=gettext_lazy("Dine-in customers pay"),
        choices=DineInPayment.choices,
        widget=forms.RadioSelect,
    )
    tips_on = forms.BooleanField(label=gettext_lazy("Customers may add a tip"), required=False)
    tip_percentages = forms.CharField(
        label=gettext_lazy("Tip percentages offered"),
        max_length=40,
        required=False,
        help_text=gettext_lazy("Up to four, separated by commas, e.g. 10, 15, 20."),
    )

    def clean_tip_percentages(self) -> list[int]:
        text = self.cleaned_data["tip_percentages"].replace("%", "").replace("，", ",")
        try:
            return [int(part) for part in text.split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError(_("Give whole numbers, such as 10, 15, 20.")) from None


@merchant_view(owner_only=True)
@require_http_methods(["GET", "POST"])
def ordering_settings(request, merchant):
    store = request.store
    initial = {
        "dine_in_payment": store.dine_in_payment,
        "tips_on": merchant.tips_on,
        "tip_percentages": ", ".join(str(p) for p in merchant.tip_percentages),
    }
    form = OrderingSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            merchants.ordering_settings_update(merchant=merchant, store=store, **form.cleaned_data)
        except merchants.MerchantError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Settings saved."))
            return redirect("console:ordering_settings", merchant.public_id)
    return render_console(request, "console/ordering_settings.html", {"form": form})


@merchant_view(owner_only=True)
@require_POST
def order_refund_tip(request, merchant, order_id: str):
    order = ordering.access_order_for_merchant(merchant=merchant, public_id=order_id)
    try:
        refunds.order_refund_tip(
            order=order, reason=request.POST.get("reason", "") or _("Tip refunded"), by=request.user
        )
    except ordering.OrderingError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The tip was refunded."))
    return redirect("console:order", merchant.public_id, order.public_id)
