"""Joining a merchant's card, and finding members (the customer's own card, staff's search)."""

import secrets

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.http import Http404

from tapgo.membership.models import Member, Programme
from tapgo.membership.services.programme import programme_of

SECRET_BYTES = 20  # RFC 4226's recommended length for an HMAC-SHA1 key


def member_of(*, merchant, customer) -> Member | None:
    """The customer's card with the merchant, if they joined (None for no customer)."""
    if customer is None:
        return None
    return (
        Member.objects.filter(merchant=merchant, customer=customer).select_related("level").first()
    )


def member_join(*, merchant, customer, app=None) -> Member:
    """The customer joins the merchant's card (their consent to be a member). Joining twice,
    or twice at once, returns the one card."""
    found = member_of(merchant=merchant, customer=customer)
    if found is not None:
        return found
    programme = programme_of(merchant=merchant)
    try:
        with transaction.atomic():
            # The next member number, taken in place: of two joining at once, each has one.
            Programme.objects.filter(pk=programme.pk).update(last_number=F("last_number") + 1)
            number = Programme.objects.values_list("last_number", flat=True).get(pk=programme.pk)
            return Member.objects.create(
                merchant=merchant,
                customer=customer,
                number=number,
                app=app,
                secret=secrets.token_hex(SECRET_BYTES),
            )
    except IntegrityError:  # the same customer joined meanwhile
        return Member.objects.get(merchant=merchant, customer=customer)


def access_member(merchant, public_id: str) -> Member:
    """The merchant's member by public id; another merchant's (or none) answers 404."""
    member = (
        Member.objects.for_merchant(merchant)
        .filter(public_id=public_id)
        .select_related("customer", "level")
        .first()
    )
    if member is None:
        raise Http404("no such member")
    return member


def members_search(merchant, query: str = ""):
    """The merchant's members, newest first; `query` finds a member number or an email."""
    members = Member.objects.for_merchant(merchant).select_related("customer", "level")
    query = (query or "").strip()
    if query:
        match = Q(customer__email__icontains=query)
        if query.isdigit() and len(query) <= 9:
            match |= Q(number=int(query))
        members = members.filter(match)
    return members.order_by("-joined_at", "-id")
