"""Row locks of the catalogue (docs/architecture.md, "Lock order"). Stock is never locked:
it is taken and given back with conditional UPDATEs, product by product in id order."""

from tapgo.catalog.models import Category


def lock_categories(merchant) -> list[Category]:
    """Every category of the merchant, locked, in menu order (reordering them)."""
    return list(
        Category.objects.for_merchant(merchant).select_for_update().order_by("position", "pk")
    )
