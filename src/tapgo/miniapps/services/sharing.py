"""Share links: a customer's own link for sharing an app, what it brought, and what a merge
does to it."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.crypto import salted_hmac

from tapgo.core.ids import is_public_id
from tapgo.miniapps.models import MiniApp, ShareLink, Visit

SHARE_TOKEN_LENGTH = ShareLink._meta.get_field("token").id_length


def share_link_for(*, app: MiniApp, customer) -> ShareLink:
    """The customer's link for sharing this app, made on first use.

    Race-safe: two requests making it at once both try to insert, the unique constraint on
    (app, sharer) lets one row in, and the other reads that row.
    """
    for _attempt in range(3):
        found = ShareLink.objects.filter(app_id=app.pk, sharer_id=customer.pk).first()
        if found is not None:
            return found
        try:
            with transaction.atomic():
                return ShareLink.objects.create(
                    merchant_id=app.merchant_id, app_id=app.pk, sharer_id=customer.pk
                )
        except IntegrityError:
            continue  # the other writer's row (or, once in a blue moon, a token taken)
    raise IntegrityError("share link: no row after three attempts")


def share_resolve(*, app: MiniApp, token) -> ShareLink | None:
    """The share link a token names for this app; None for anything else (unknown, malformed,
    too long, another app's). A token names a sharer, never an app: the app is the URL's."""
    if not is_public_id(token, SHARE_TOKEN_LENGTH):
        return None
    return ShareLink.objects.filter(app_id=app.pk, token=token).first()


@dataclass(frozen=True)
class Recredit:
    """What was credited to share links `share_ids` is credited to `to` (None: to no one);
    only the customer `customer_id`'s when one is given."""

    share_ids: tuple[int, ...]
    to: int | None
    customer_id: int | None = None


def share_recredits(*, source, target) -> list[Recredit]:
    """Merging the guest `source` into the account `target`: where both have a link for the
    same app the account's stays and what the guest's brought is credited to it; what either
    link credited to the account itself (the sharer visiting through their own link) is
    credited to no one. Reads only: the merge applies it to whatever credits links (visits
    here, orders in ordering) before share_links_move drops the guest's duplicates."""
    theirs = dict(ShareLink.objects.filter(sharer=target).values_list("app_id", "pk"))
    recredits = []
    for pk, app_id in ShareLink.objects.filter(sharer=source).values_list("pk", "app_id"):
        if app_id in theirs:
            recredits.append(Recredit((pk,), theirs[app_id]))
    own = tuple(
        ShareLink.objects.filter(sharer__in=[source, target])
        .exclude(pk__in=[pk for r in recredits for pk in r.share_ids])
        .values_list("pk", flat=True)
    )
    if own:
        recredits.append(Recredit(own, None, target.pk))
    return recredits


def share_links_move(*, source, target, recredits: list[Recredit]) -> None:
    """The guest's share links become the account's (inside the merge's transaction), their
    visits recredited as share_recredits said; the guest's duplicates are dropped."""
    for recredit in recredits:
        visits = Visit.objects.filter(share_id__in=recredit.share_ids)
        if recredit.customer_id is not None:
            visits = visits.filter(customer_id=recredit.customer_id)
        visits.update(share=recredit.to)
    dropped = [pk for r in recredits if r.to is not None for pk in r.share_ids]
    ShareLink.objects.filter(pk__in=dropped).delete()
    ShareLink.objects.filter(sharer=source).update(sharer=target)


def share_label(token: str) -> str:
    """What the console shows for a sharer: stable, opaque, and not the token itself (which
    would let anyone who sees it make links crediting that sharer)."""
    return salted_hmac("tapgo.share-label", token, algorithm="sha256").hexdigest()[:8].upper()
