"""The console's delivery page: the store's delivery zones (a radius around the store or a
named area, each with a fee, a minimum order and an estimated time), adding and removing
them. No zones: the store does not deliver, and customers are not offered it. Owners only."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tapgo.console import forms
from tapgo.console.views.base import merchant_view, render_console
from tapgo.ordering import services as ordering


@merchant_view(owner_only=True)
@require_http_methods(["GET", "POST"])
def delivery_zones(request, merchant):
    store = request.store
    form = forms.DeliveryZoneForm(request.POST or None, currency=merchant.currency)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                zone = ordering.zone_add(
                    merchant=merchant,
                    store=store,
                    kind=data["kind"],
                    name=data["name"],
                    radius_m=data["radius_m"],
                    fee=data["fee"],
                    minimum=data["minimum"] or 0,
                    eta_minutes=data["eta_minutes"],
                )
            except ordering.OrderingError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Zone %(name)s added.") % {"name": zone.name})
                return redirect("console:delivery", merchant.public_id)
        status = 400
    zones = ordering.zones_of_store(store)
    return render_console(
        request,
        "console/delivery.html",
        {
            "form": form,
            "zones": zones,
            "located": store.latitude is not None and store.longitude is not None,
            "has_radius": any(z.kind == z.Kind.RADIUS for z in zones),
        },
        status=status,
    )


@merchant_view(owner_only=True)
@require_POST
def delivery_zone_delete(request, merchant, zone_id: str):
    zone = ordering.access_zone_for_merchant(merchant=merchant, public_id=zone_id)
    ordering.zone_delete(merchant=merchant, public_id=zone.public_id)
    messages.success(request, _("Zone %(name)s removed.") % {"name": zone.name})
    return redirect("console:delivery", merchant.public_id)
