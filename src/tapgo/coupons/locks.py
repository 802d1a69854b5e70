"""Row locks of the coupons domain (docs/architecture.md, "Lock order"): a batch's row while
its terms change, alone. Claims and redemptions take no lock: a conditional UPDATE each."""

from tapgo.coupons.models import Batch


def lock_batch(batch_id: int) -> Batch:
    """Lock a batch's row for this transaction (an edit of its terms); returns it as locked."""
    return Batch.objects.select_for_update().get(pk=batch_id)
