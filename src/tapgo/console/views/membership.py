"""The console's membership pages: the programme (earn rules, levels, expiry), the members
with search, a member's page (level, points history, adjusting points with a reason), and the
counter (a member code typed or scanned → the member → a purchase that earns points)."""

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tapgo.console import membership_forms as forms
from tapgo.console.views.base import merchant_view, render_console
from tapgo.core.actors import Actor
from tapgo.core.money import amount_input
from tapgo.flows import membership as points
from tapgo.membership import services as membership
from tapgo.membership.models import EarnBonus, LevelBasis

PAGE = 50


def _errors(form) -> str:
    parts: list[str] = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else None
        parts.extend(f"{label}: {e}" if label else str(e) for e in errors)
    return " ".join(parts)


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
                messages.error(request, _errors(rules))
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
                messages.error(request, _errors(level_form))
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
            messages.error(request, _errors(form))
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
            "form": form,
        },
    )


@merchant_view()
@require_http_methods(["GET", "POST"])
def counter(request, merchant):
    """A purchase at the counter: the member code (typed, or pasted from a scan) finds the
    member, and what they paid earns points (once per form)."""
    currency = merchant.currency
    form = forms.CounterForm(initial={"key": uuid.uuid4().hex}, currency=currency)
    if request.method == "POST":
        form = forms.CounterForm(request.POST, currency=currency)
        if form.is_valid():
            data = form.cleaned_data
            try:
                card, _step = membership.code_find(merchant=merchant, text=data["code"])
                entry = points.counter_purchase(member=card, amount=data["amount"],
                                                key=data["key"],
                                                actor=Actor.staff(request.user))  # fmt: skip
            except membership.MembershipError as error:
                form.add_error("code" if isinstance(error, membership.CodeError) else None,
                               str(error))  # fmt: skip
            else:
                earned = entry.points if entry else 0
                messages.success(request, _("Member %(number)s earned %(points)s points.")
                                 % {"number": card.number, "points": earned})  # fmt: skip
                return redirect("console:membership_member", merchant.public_id, card.public_id)
        fresh = request.POST.copy()
        fresh["key"] = uuid.uuid4().hex
        form.data = fresh
    return render_console(
        request,
        "console/membership_counter.html",
        {"form": form, "example": amount_input(100, currency)},
    )
