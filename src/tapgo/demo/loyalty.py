"""The demo café's membership programme (1 point per ¥1; Silver at 500 points in 12 months
with 5% off, Gold at 2000 with 10% off; a reward of ¥5 off for 300 points) and a member with
some history. Only for a new business: a café that has its levels already is left as it
is."""

from tapgo.core.actors import Actor
from tapgo.flows import counter
from tapgo.flows import membership as points
from tapgo.identity.models import Customer, User
from tapgo.membership import services as membership
from tapgo.membership.models import ExpiryRule, LevelBasis, Member, RewardKind
from tapgo.miniapps.models import MiniApp

LEVELS = (("Silver", 500, 1, 500), ("Gold", 2000, 2, 1000))  # name, points, rank, bps off
REWARD = membership.RewardTerms(name="¥5 off", points=300, kind=RewardKind.AMOUNT, amount=500)


def programme(app: MiniApp) -> Member | None:
    """Set the programme and let the demo member join (before the history, so their paid
    orders earn); None, changing nothing, when the café has its levels already."""
    merchant = app.merchant
    if membership.levels_of(merchant).exists():
        return None
    membership.programme_update(
        merchant=merchant,
        points_per_unit=1,
        unit_amount=100,
        points_per_order=0,
        first_order_bonus=0,
        level_basis=LevelBasis.POINTS,
        level_window_months=12,
        expiry_rule=ExpiryRule.NEXT_YEAR_END,
        expiry_months=12,
    )
    for name, threshold, rank, bps in LEVELS:
        membership.level_save(
            merchant=merchant, name=name, threshold=threshold, rank=rank, discount_bps=bps
        )
    membership.reward_save(merchant=merchant, terms=REWARD)
    customer = Customer.objects.get_or_create(email=f"member1@{app.slug}.demo")[0]
    return membership.member_join(merchant=merchant, customer=customer, app=app)


def member_history(member: Member, *, staff: User) -> None:
    """A purchase recorded at the counter and a welcome gift from staff."""
    actor = Actor.staff(staff)
    counter.counter_purchase(member=member, amount=46800, key="demo-counter-1", actor=actor)
    points.points_adjust(member=member, points=50, reason="Welcome gift", key="demo-welcome",
                         actor=actor)  # fmt: skip
