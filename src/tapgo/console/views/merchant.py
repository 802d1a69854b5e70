"""The console's merchant pages: its front door (the board), its settings, and its team
(invitations and removing a member). Settings and the team are for owners."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tapgo.console import forms
from tapgo.console.views.base import merchant_view, render_console
from tapgo.flows import listings
from tapgo.merchants import services as merchants


@merchant_view()
@require_GET
def merchant_home(request, merchant):
    return redirect("console:board", merchant.public_id)


@merchant_view(owner_only=True)
@require_http_methods(["GET", "POST"])
def settings_view(request, merchant):
    store = request.store
    initial = {
        "name": merchant.name,
        "address": store.address,
        "latitude": store.latitude,
        "longitude": store.longitude,
        "opening_hours": store.opening_hours,
        "time_zone": store.time_zone,
        "currency": merchant.currency,
        "language": merchant.language,
    }
    form = forms.MerchantForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("currency", None)
        data.pop("language", None)
        try:
            listings.merchant_update(merchant=merchant, **data)
        except merchants.MerchantError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Settings saved."))
            return redirect("console:settings", merchant.public_id)
    return render_console(request, "console/merchant_form.html", {"form": form, "editing": True})


@merchant_view(owner_only=True)
@require_http_methods(["GET", "POST"])
def staff(request, merchant):
    form = forms.InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invite = merchants.invitation_create(
                merchant=merchant,
                invited_by=request.user,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
        except merchants.MerchantError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": invite.email})
            return redirect("console:staff", merchant.public_id)
    return render_console(
        request,
        "console/staff.html",
        {
            "form": form,
            "members": merchants.staff_list(merchant),
            "invitations": merchants.invitations_pending(merchant),
        },
    )


@merchant_view(owner_only=True)
@require_POST
def staff_remove(request, merchant, user_id: str):
    try:
        merchants.staff_remove(merchant=merchant, user_public_id=user_id, acting=request.user)
    except merchants.MerchantError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Removed from the team."))
    return redirect("console:staff", merchant.public_id)
