"""The console's coupons: the merchant's batches with what each has done (issued, claimed,
used, expired; the paid orders that used one and what they paid), creating and editing a
batch, stopping it, a batch's claim link and campaign QR code, and a coupon granted by staff
to a customer. Another merchant's batch answers 404."""

import io

import segno
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tapgo.console.forms import coupons as forms
from tapgo.console.views.base import merchant_view, render_console
from tapgo.core import links
from tapgo.coupons import services as coupons
from tapgo.coupons.models import Source
from tapgo.flows import coupons as coupon_flows
from tapgo.identity.services import customer_from_public_id
from tapgo.miniapps import services as miniapps


def _batch(merchant, batch_id: str):
    batch = coupons.access_batch_for_merchant(merchant=merchant, public_id=batch_id)
    if batch is None:
        raise Http404
    return batch


@merchant_view()
@require_http_methods(["GET", "POST"])
def batches(request, merchant):
    form = forms.BatchForm(request.POST or None, merchant=merchant)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                batch = coupons.batch_create(merchant=merchant, terms=form.terms())
            except coupons.CouponError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Offer %(name)s created.") % {"name": batch.name})
                return redirect("console:coupon_batch", merchant.public_id, batch.public_id)
        status = 400
    rows = [(b, coupons.batch_figures(b)) for b in coupons.batches_of_merchant(merchant)[:100]]
    return render_console(
        request, "console/coupons.html", {"form": form, "rows": rows}, status=status
    )


def _campaign_url(merchant, batch) -> str:
    app = miniapps.apps_of(merchant).first()
    if app is None:
        return ""
    return links.absolute(links.campaign(app.slug, batch.public_id))


def _qr(url: str, **options) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(
        out, kind="svg", border=miniapps.QR_BORDER, xmldecl=False, **options
    )
    return out.getvalue()


@merchant_view()
@require_http_methods(["GET", "POST"])
def batch(request, merchant, batch_id: str):
    """One batch: its figures and sales, its claim link and campaign code, editing it."""
    batch = _batch(merchant, batch_id)
    form = forms.BatchForm(request.POST or None, merchant=merchant, batch=batch)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                coupons.batch_update(batch=batch, terms=form.terms())
            except coupons.CouponError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Offer %(name)s saved.") % {"name": batch.name})
                return redirect("console:coupon_batch", merchant.public_id, batch.public_id)
        status = 400
    url = _campaign_url(merchant, batch)
    context = {
        "batch": batch,
        "form": form,
        "figures": coupons.batch_figures(batch),
        "sales": coupon_flows.batch_sales(batch),
        "grant_form": forms.GrantForm(),
        "claim_url": url,
        "campaign_url": f"{url}?scene=scan" if url else "",
        # segno's own SVG of our own URL: no user markup in it.
        "qr": mark_safe(_qr(f"{url}?scene=scan", scale=4, omitsize=True).decode()) if url else "",  # noqa: S308
    }
    return render_console(request, "console/coupon_batch.html", context, status=status)


@merchant_view()
@require_POST
def batch_stop(request, merchant, batch_id: str):
    batch = _batch(merchant, batch_id)
    if coupons.batch_stop(batch=batch):
        messages.success(request, _("Offer %(name)s stopped.") % {"name": batch.name})
    return redirect("console:coupon_batch", merchant.public_id, batch.public_id)


@merchant_view()
@require_POST
def batch_grant(request, merchant, batch_id: str):
    """Staff give a customer (found by the code on their card page) one coupon of the batch."""
    batch = _batch(merchant, batch_id)
    form = forms.GrantForm(request.POST)
    customer = form.is_valid() and customer_from_public_id(form.cleaned_data["customer"].strip())
    if not customer:
        messages.error(request, _("No customer has that code."))
    else:
        try:
            coupons.coupon_issue(
                batch=batch,
                customer=customer,
                source=Source.STAFF,
                source_ref=(request.user.email or "")[:120],
            )
        except coupons.CouponError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Coupon given."))
    return redirect("console:coupon_batch", merchant.public_id, batch.public_id)


@merchant_view()
@require_http_methods(["GET"])
def batch_code(request, merchant, batch_id: str):
    """The batch's campaign QR code as an SVG to print (it opens the claim page, by scan)."""
    batch = _batch(merchant, batch_id)
    url = _campaign_url(merchant, batch)
    if not url:
        raise Http404
    response = HttpResponse(_qr(f"{url}?scene=scan", scale=10), content_type="image/svg+xml")
    response["Content-Disposition"] = f'attachment; filename="coupon-{batch.public_id}.svg"'
    return response
