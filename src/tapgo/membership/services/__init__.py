"""Membership's services, by sub-domain; the public names are all here.

- programme.py: a merchant's programme (earn rules, levels, expiry), made on first use;
- members.py: joining, finding a customer's card, what the card page shows;
- codes.py: the rotating member code (TOTP, RFC 6238) and spending one at the counter once;
- points.py: the append-only points ledger (earn, redeem, expire, adjust, reverse) with its
  cached balances and lots, and what an order earns or a refund takes back;
- levels.py: a member's level recomputed over the programme's window, and its benefit;
- counter.py: what staff record for a member at the counter, once per form.
- rewards.py: what members may take for points at checkout, as the merchant defines it.

What earns or reverses points (an order paid, a refund) is decided in flows/membership.py.
"""

from tapgo.membership.services.codes import (
    CODE_STEP_SECONDS,
    CodeError,
    code_find,
    code_spend,
    code_step,
    code_step_fresh,
    code_step_spend,
    member_code,
)
from tapgo.membership.services.counter import (
    counter_key,
    counter_sale_create,
    counter_sale_of_key,
    counter_sales_of,
)
from tapgo.membership.services.errors import MembershipError
from tapgo.membership.services.levels import (
    level_discount_bps,
    level_locked,
    level_progress,
    level_recompute,
    levels_crossed,
    levels_sweep,
)
from tapgo.membership.services.members import (
    access_member,
    member_join,
    member_of,
    members_search,
)
from tapgo.membership.services.points import (
    NotEnoughPoints,
    order_earned,
    points_adjust,
    points_earn,
    points_expire_due,
    points_give_back,
    points_history,
    points_redeem,
    points_reverse,
    points_reverse_undo,
    verify_balances,
    verify_lots,
)
from tapgo.membership.services.programme import (
    Item,
    earn_bonus_delete,
    earn_bonus_set,
    level_delete,
    level_save,
    levels_of,
    order_points,
    programme_of,
    programme_update,
)
from tapgo.membership.services.rewards import (
    RewardTerms,
    access_reward,
    reward_for_checkout,
    reward_save,
    reward_set_active,
    rewards_of,
)

__all__ = [
    "CODE_STEP_SECONDS",
    "CodeError",
    "Item",
    "MembershipError",
    "NotEnoughPoints",
    "RewardTerms",
    "access_member",
    "access_reward",
    "code_find",
    "code_spend",
    "code_step",
    "code_step_fresh",
    "code_step_spend",
    "counter_key",
    "counter_sale_create",
    "counter_sale_of_key",
    "counter_sales_of",
    "earn_bonus_delete",
    "earn_bonus_set",
    "level_delete",
    "level_discount_bps",
    "level_locked",
    "level_progress",
    "level_recompute",
    "level_save",
    "levels_of",
    "levels_crossed",
    "levels_sweep",
    "member_code",
    "member_join",
    "member_of",
    "members_search",
    "order_earned",
    "order_points",
    "points_adjust",
    "points_earn",
    "points_expire_due",
    "points_give_back",
    "points_history",
    "points_redeem",
    "points_reverse",
    "points_reverse_undo",
    "programme_of",
    "programme_update",
    "reward_for_checkout",
    "reward_save",
    "reward_set_active",
    "rewards_of",
    "verify_balances",
    "verify_lots",
]
