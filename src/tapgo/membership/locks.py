"""Row locks of membership's tables (docs/architecture.md, "Lock order"): a member's row, last
of all (after an order, its intents and the money ledger's accounts), so points follow a
payment or a refund in its own transaction without waiting in a cycle."""

from tapgo.membership.models import Member


def lock_member(member_id: int) -> Member:
    """Lock one member and return it as it now is: every writer of its points, its level and
    its cached balances waits here."""
    return Member.objects.select_for_update().get(pk=member_id)
