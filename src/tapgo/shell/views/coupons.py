"""The customer's coupons with a merchant (/m/<slug>/coupons/): the ones they hold (usable
first), the offers they can claim here, and a batch's claim page reached by its claim link
or campaign code (/m/<slug>/c/<batch>/?scene=scan: its printed QR code, a visit by scan),
which records the door it came by on the coupon.

An offer for members (or a level) says so: a customer who has not joined is offered the join
button, which comes back to the claim page once joined (a guest signs in first, and typing
the code joins); a member below the level is told which level it is for."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tapgo.core.bots import is_bot
from tapgo.core.scenes import Scene
from tapgo.coupons import services as coupons
from tapgo.coupons.models import Source
from tapgo.identity.middleware import current_customer, ensure_customer
from tapgo.membership import services as membership
from tapgo.miniapps import live
from tapgo.miniapps import services as miniapps
from tapgo.shell import state as shell_state
from tapgo.shell.views.base import frame, record_door
from tapgo.shell.views.member import join_url


@require_http_methods(["GET"])
@shell_state.keeps
def my_coupons(request, slug: str):
    app = miniapps.live_app(slug)
    record_door(request, live.AppState.of_app(app))
    customer = current_customer(request)
    held = (
        coupons.coupons_of_customer(customer=customer, merchant_id=app.merchant_id)
        if customer
        else []
    )
    context = frame(request, app, coupons=held, offers=coupons.batches_claimable(app.merchant_id))
    return render(request, "shell/coupons.html", context)


def _batch(merchant_id: int, batch_id: str):
    batch = coupons.access_batch(public_id=batch_id)
    if batch is None or batch.merchant_id != merchant_id:
        raise Http404
    return batch


@require_http_methods(["GET", "POST"])
@shell_state.keeps
def claim(request, slug: str, batch_id: str):
    """A batch's claim page: GET shows the offer (a campaign code's ?scene= records the visit
    and is kept in the form), POST claims it (also from the coupons page's buttons: no
    scene, claimed in the app)."""
    if request.method == "POST":
        return _claim(request, live.app_state(slug), batch_id)
    app = miniapps.live_app(slug)
    batch = _batch(app.merchant_id, batch_id)
    scene = request.GET.get("scene", "")
    if scene == Scene.SCAN and not is_bot(request):  # the campaign's printed code
        miniapps.visit_record(app=app, customer=ensure_customer(request), scene=scene)
    else:
        record_door(request, live.AppState.of_app(app))
    customer = current_customer(request)
    member = membership.member_of(merchant=app.merchant_id, customer=customer)
    refusal = coupons.audience_refusal(batch, member)
    context = frame(
        request,
        app,
        batch=batch,
        scene=scene if scene in Scene.values else "",
        customer=customer,
        refusal=refusal,
        join_url=join_url(app, request.path) if refusal and member is None else "",
    )
    return render(request, "shell/coupon_claim.html", context)


def _claim(request, app: live.AppState, batch_id: str):
    """Claim a coupon of the batch: the app's state and the batch read as the menu's are (a
    flash claim's thousands of presses a second come here), the caps decided by coupons."""
    batch = _batch(app.merchant_id, batch_id)
    scene = request.POST.get("scene", "")
    scene = scene if scene in Scene.values else ""
    try:
        coupons.coupon_issue(
            batch=batch,
            customer=ensure_customer(request),
            source=Source.LINK if scene else Source.CLAIMED,
            scene=scene,
            source_ref="campaign" if scene else "",
        )
    except coupons.NotAMember as exc:  # the claim page offers the join button
        messages.error(request, str(exc))
        return redirect("shell:campaign", slug=app.slug, batch_id=batch.public_id)
    except coupons.CouponError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The coupon is yours. It comes off at checkout."))
    return redirect("shell:coupons", slug=app.slug)
