"""The console's points rewards (owner only): the list with a form to add one, a reward's
page to change it, and deactivating one (members can no longer choose it; orders that used
it keep it by name); a member taking a reward at the counter with their member code."""

import uuid

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tapgo.console.forms.rewards import CounterRewardForm, RewardForm
from tapgo.console.views.base import form_errors, merchant_view, render_console
from tapgo.core.actors import Actor
from tapgo.core.money import format_money
from tapgo.flows import offers as offer_flows
from tapgo.membership import services as membership


def _save(request, merchant, form: RewardForm, public_id: str = "") -> bool:
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return False
    try:
        membership.reward_save(merchant=merchant, terms=form.terms(), public_id=public_id)
    except membership.MembershipError as error:
        messages.error(request, str(error))
        return False
    messages.success(request, _("Reward saved."))
    return True


@merchant_view(owner_only=True)
@require_http_methods(["GET", "POST"])
def rewards(request, merchant):
    """The rewards members may take for points at checkout, and a form to add one."""
    form = RewardForm(merchant=merchant)
    if request.method == "POST":
        form = RewardForm(request.POST, merchant=merchant)
        if _save(request, merchant, form):
            return redirect("console:membership_rewards", merchant.public_id)
    return render_console(
        request,
        "console/membership_rewards.html",
        {"rewards": membership.rewards_of(merchant), "form": form},
    )


@merchant_view(owner_only=True)
@require_http_methods(["GET", "POST"])
def reward(request, merchant, reward_id: str):
    found = membership.access_reward(merchant, reward_id)
    form = RewardForm(merchant=merchant, reward=found)
    if request.method == "POST":
        form = RewardForm(request.POST, merchant=merchant)
        if _save(request, merchant, form, public_id=found.public_id):
            return redirect("console:membership_rewards", merchant.public_id)
    return render_console(
        request, "console/membership_reward.html", {"reward": found, "form": form}
    )


@merchant_view(owner_only=True)
@require_POST
def reward_active(request, merchant, reward_id: str):
    """Deactivate a reward (or bring it back)."""
    found = membership.access_reward(merchant, reward_id)  # another merchant's: 404
    on = request.POST.get("active") == "1"
    if membership.reward_set_active(merchant=merchant, public_id=found.public_id, active=on):
        messages.success(request, _("Members can choose it again.") if on
                         else _("Reward deactivated."))  # fmt: skip
    return redirect("console:membership_rewards", merchant.public_id)


@merchant_view()
@require_http_methods(["GET", "POST"])
def counter_reward(request, merchant):
    """A member takes a reward at the counter: the member code (spent once) and the reward;
    its points are redeemed once per form, and staff give the item or take the amount off."""
    form = CounterRewardForm(initial={"key": uuid.uuid4().hex}, merchant=merchant)
    if request.method == "POST":
        form = CounterRewardForm(request.POST, merchant=merchant)
        if form.is_valid():
            data = form.cleaned_data
            try:
                card, reward, _entry = offer_flows.counter_reward(
                    merchant=merchant, code=data["code"], reward=data["reward"],
                    key=data["key"], actor=Actor.staff(request.user),
                )  # fmt: skip
            except membership.MembershipError as error:
                form.add_error("code" if isinstance(error, membership.CodeError) else None,
                               str(error))  # fmt: skip
            else:
                if reward.product is not None:
                    what = _("give %(name)s free") % {"name": reward.product.name}
                else:
                    what = _("take %(amount)s off") % {
                        "amount": format_money(reward.amount, merchant.currency)
                    }
                messages.success(request, _("Member %(number)s took “%(reward)s” for %(points)s "
                                            "points: %(what)s.") % {
                    "number": card.number, "reward": reward.name, "points": reward.points,
                    "what": what,
                })  # fmt: skip
                return redirect("console:membership_member", merchant.public_id, card.public_id)
        fresh = request.POST.copy()
        fresh["key"] = uuid.uuid4().hex
        form.data = fresh
    return render_console(request, "console/membership_counter_reward.html", {"form": form})
