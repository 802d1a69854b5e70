"""The console's membership pages: the programme (earn rules, levels, expiry), the members
with search, a member's page (level, points history, adjusting points with a reason), and the
counter (a member code typed or scanned → the member's counter page for a minute or two → a
purchase that earns points, a coupon used, an amount paid from the card)."""

import uuid

from django.contrib import messages
from django.core import signing
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tapgo.console.forms import membership as forms
from tapgo.console.views.base import form_errors, merchant_view, render_console
from tapgo.core.actors import Actor
from tapgo.core.money import format_money
from tapgo.coupons import services as coupons
from tapgo.coupons.models import CouponState
from tapgo.flows import counter as counter_flows
from tapgo.flows import membership as points
from tapgo.membership import services as membership
from tapgo.membership.models import CounterKind, EarnBonus, LevelBasis, Member
from tapgo.payments import stored_value

PAGE = 50


@merchant_view(owner_only=True)
@require_http_methods(["GET", "POST"])
def programme(request, merchant):
    """The programme's rules and its levels."""
    current = membership.programme_of(merchant=merchant)
    currency = merchant.currency
    rules = forms.ProgrammeForm(
        initial={f: getattr(current, f) for f in (
            "points_per_unit", "unit_amount", "points_per_order", "first_order_bonus",
            "level_basis", "level_window_months", "expiry_rule", "expiry_months",
        )},
        currency=currency,
    )  # fmt: skip
    level_form = forms.LevelForm(currency=currency, basis=current.level_basis)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "rules":
            rules = forms.ProgrammeForm(request.POST, currency=currency)
            if rules.is_valid():
                try:
                    membership.programme_update(merchant=merchant, **rules.cleaned_data)
                except membership.MembershipError as error:
                    messages.error(request, str(error))
                else:
                    messages.success(request, _("The programme's rules are saved."))
                    return redirect("console:membership", merchant.public_id)
            else:
                messages.error(request, form_errors(rules))
        elif action == "level":
            level_form = forms.LevelForm(request.POST, currency=currency,
                                         basis=current.level_basis)  # fmt: skip
            if level_form.is_valid():
                data = level_form.cleaned_data
                try:
                    membership.level_save(
                        merchant=merchant,
                        name=data["name"],
                        threshold=data["threshold"],
                        rank=data["rank"],
                        discount_bps=level_form.discount_bps(),
                        public_id=request.POST.get("level", ""),
                    )
                except membership.MembershipError as error:
                    messages.error(request, str(error))
                else:
                    messages.success(request, _("Level saved. Members' levels follow tonight "
                                                "or with their next points."))  # fmt: skip
                    return redirect("console:membership", merchant.public_id)
            else:
                messages.error(request, form_errors(level_form))
    levels = [
        {"level": level, "percent": f"{level.discount_bps / 100:g}"}
        for level in membership.levels_of(merchant)
    ]
    return render_console(
        request,
        "console/membership.html",
        {
            "rules": rules,
            "level_form": level_form,
            "levels": levels,
            "by_spend": current.level_basis == LevelBasis.SPEND,
            "bonuses": EarnBonus.objects.for_merchant(merchant).select_related(
                "product", "category"
            ),
        },
    )


@merchant_view(owner_only=True)
@require_POST
def level_delete(request, merchant):
    try:
        if membership.level_delete(merchant=merchant, public_id=request.POST.get("level", "")):
            messages.success(request, _("Level deleted."))
    except membership.MembershipError as error:  # an offer is for this level
        messages.error(request, str(error))
    return redirect("console:membership", merchant.public_id)


@merchant_view()
def members(request, merchant):
    """The members, newest first, found by member number or email."""
    query = (request.GET.get("q") or "").strip()[:100]
    page = Paginator(membership.members_search(merchant, query), PAGE).get_page(
        request.GET.get("page")
    )
    return render_console(
        request, "console/membership_members.html", {"page": page, "query": query}
    )


@merchant_view()
@require_http_methods(["GET", "POST"])
def member(request, merchant, member_id: str):
    """A member: level and the way to the next, points and their history; staff adjust points
    with a reason (recorded with who did it)."""
    card = membership.access_member(merchant, member_id)
    form = forms.AdjustForm(initial={"key": uuid.uuid4().hex})
    if request.method == "POST":
        form = forms.AdjustForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                points.points_adjust(member=card, points=data["points"], reason=data["reason"],
                                     key=data["key"], actor=Actor.staff(request.user))  # fmt: skip
            except membership.MembershipError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, _("Points adjusted."))
                return redirect("console:membership_member", merchant.public_id, card.public_id)
        else:
            messages.error(request, form_errors(form))
        fresh = request.POST.copy()
        fresh["key"] = uuid.uuid4().hex
        form.data = fresh
    card.refresh_from_db()
    return render_console(
        request,
        "console/membership_member.html",
        {
            "card": card,
            "progress": membership.level_progress(card),
            "history": list(membership.points_history(card)[:200]),
            "sales": membership.counter_sales_of(card),
            "balance": stored_value.balance(merchant, card.customer),
            "form": form,
        },
    )


COUNTER_SECONDS = 120  # how long a member found by the code stays open at the counter


def _counter_token(merchant, member, step: int) -> str:
    return signing.dumps({"m": member.public_id, "s": step}, salt=f"counter:{merchant.public_id}")


def _counter_member(merchant, token: str):
    """The member and code step a counter token carries, or None when it is older than
    COUNTER_SECONDS (a screenshot of the code is worth nothing later); 404 for a token that
    is not this merchant's (forged, or another merchant's)."""
    try:
        data = signing.loads(token, salt=f"counter:{merchant.public_id}", max_age=COUNTER_SECONDS)
    except signing.SignatureExpired:
        return None
    except signing.BadSignature:
        raise Http404("no such counter page") from None
    try:
        public_id, step = str(data["m"]), int(data["s"])
    except (KeyError, TypeError, ValueError):
        raise Http404("no such counter page") from None
    found = (
        Member.objects.for_merchant(merchant)
        .filter(public_id=public_id)
        .select_related("customer", "level", "merchant")
        .first()
    )
    if found is None:
        raise Http404("no such member")
    return found, step


@merchant_view()
@require_http_methods(["GET", "POST"])
def counter(request, merchant):
    """The counter: the member code (typed, scanned by a scanner that types the QR's text,
    or pasted) finds the member and opens their counter page for a short while."""
    form = forms.CounterForm()
    if request.method == "POST":
        form = forms.CounterForm(request.POST)
        if form.is_valid():
            try:
                card, step = membership.code_find(merchant=merchant, text=form.cleaned_data["code"])
            except membership.CodeError as error:
                form.add_error("code", str(error))
            else:
                token = _counter_token(merchant, card, step)
                return redirect("console:membership_counter_member", merchant.public_id, token)
    return render_console(request, "console/membership_counter.html", {"form": form})


def _coupon_choices(merchant, card) -> list[tuple[str, str]]:
    now = timezone.now()
    usable = [
        c
        for c in coupons.coupons_of_customer(customer=card.customer, merchant_id=merchant.pk)
        if c.state == CouponState.AVAILABLE and c.expires_at > now and not c.batch.stopped
    ]
    return [
        (
            c.public_id,
            _("%(name)s · %(kind)s · until %(date)s")
            % {
                "name": c.batch.name,
                "kind": c.batch.get_kind_display(),
                "date": formats.date_format(timezone.localtime(c.expires_at), "Y-m-d"),
            },
        )
        for c in usable
    ]


def _counter_done(sale, currency: str) -> str:
    if sale.kind == CounterKind.CARD:
        return _("%(amount)s taken from member %(number)s's card.") % {
            "amount": format_money(sale.card, currency),
            "number": sale.member.number,
        }
    if sale.discount:
        return _("Coupon used: %(discount)s off %(amount)s, %(paid)s to pay.") % {
            "discount": format_money(sale.discount, currency),
            "amount": format_money(sale.amount, currency),
            "paid": format_money(sale.amount - sale.discount, currency),
        }
    return _("Coupon used (nothing off the amount: hand over what it gives).")


def _counter_record(action: str, card, step: int, data: dict, actor, currency: str) -> str:
    """Do what the counter form asks; the message saying what was done."""
    common = {"member": card, "amount": data["amount"], "key": data["key"], "actor": actor}
    if action == "purchase":
        entry = counter_flows.counter_purchase(**common)
        return _("Member %(number)s earned %(points)s points.") % {
            "number": card.number,
            "points": entry.points if entry else 0,
        }
    if action == "card":
        if data["code"]:  # a fresh code typed for this payment
            other, step = membership.code_find(merchant=card.merchant, text=data["code"])
            if other.pk != card.pk:
                raise membership.CodeError(_("That code is another member's."))
        sale = counter_flows.counter_card(step=step, earn=data["earn"], **common)
    else:
        sale = counter_flows.counter_coupon(coupon=data["coupon"], earn=data["earn"], **common)
    return _counter_done(sale, currency)


@merchant_view()
@require_http_methods(["GET", "POST"])
def counter_member(request, merchant, token: str):
    """A member found by the code at the counter: number, level, points, card balance and
    coupons, and what staff can record (each once per form, with who did it): a purchase
    that earns points, a coupon used, an amount from the card (the code's step is spent
    then: a fresh code for each payment)."""
    found = _counter_member(merchant, token)
    if found is None:
        messages.info(request, _("Type the member's code again: it is only good for a minute "
                                 "or two."))  # fmt: skip
        return redirect("console:membership_counter", merchant.public_id)
    card, step = found
    currency = merchant.currency
    actor = Actor.staff(request.user)
    choices = _coupon_choices(merchant, card)

    def fresh(form_class, **kwargs):
        return form_class(initial={"key": uuid.uuid4().hex}, currency=currency, **kwargs)

    purchase = fresh(forms.CounterPurchaseForm)
    pay = fresh(forms.CounterCardForm)
    use = fresh(forms.CounterCouponForm, choices=choices)
    if request.method == "POST":
        action = request.POST.get("action")
        form_class, kwargs = {
            "purchase": (forms.CounterPurchaseForm, {}),
            "card": (forms.CounterCardForm, {}),
            "coupon": (forms.CounterCouponForm, {"choices": choices}),
        }.get(action, (None, {}))
        if form_class is None:
            return redirect("console:membership_counter_member", merchant.public_id, token)
        form = form_class(request.POST, currency=currency, **kwargs)
        if form.is_valid():
            data = form.cleaned_data
            try:
                done = _counter_record(action, card, step, data, actor, currency)
            except counter_flows.REFUSED as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, done)
                return redirect("console:membership_counter_member", merchant.public_id, token)
        renewed = request.POST.copy()
        renewed["key"] = uuid.uuid4().hex
        form.data = renewed
        if action == "purchase":
            purchase = form
        elif action == "card":
            pay = form
        else:
            use = form
    card.refresh_from_db()
    return render_console(
        request,
        "console/membership_counter_member.html",
        {
            "card": card,
            "token": token,
            "balance": stored_value.balance(merchant, card.customer),
            "purchase": purchase,
            "pay": pay,
            "use": use,
            "has_coupons": bool(choices),
        },
    )
