"""Signing in, and what a guest had becoming the account's."""

from django.db import transaction

from tapgo.coupons import services as coupons
from tapgo.discovery import services as discovery
from tapgo.identity import services as identity
from tapgo.identity.models import Customer
from tapgo.messaging import services as messaging
from tapgo.miniapps import services as miniapps
from tapgo.ordering import services as ordering
from tapgo.payments import stored_value


def sign_in(*, email: str, code: str, guest: Customer | None) -> Customer:
    """Check an emailed code and return the account, with the guest's carts, orders, visits,
    share links, card balances, coupons, places and notifications moved in, all in one transaction
    with using the code (the check before it counts the attempt whatever happens next)."""
    login_code = identity.login_code_check(email=email, code=code)
    with transaction.atomic():
        account = identity.login_code_redeem(login_code=login_code)
        if guest is not None and guest.pk and guest.pk != account.pk and guest.is_guest:
            customer_merge(source=guest, target=account)
    return account


@transaction.atomic
def customer_merge(*, source: Customer, target: Customer) -> None:
    """Move a guest's carts, orders, visits, share links, card balances, coupons and
    notifications to an account."""
    ordering.carts_move(source=source, target=target)
    ordering.orders_move(source=source, target=target)
    miniapps.visits_move(source=source, target=target)
    recredits = miniapps.share_recredits(source=source, target=target)
    for recredit in recredits:
        ordering.orders_share_repoint(
            share_ids=recredit.share_ids, to=recredit.to, customer_id=recredit.customer_id
        )
    miniapps.share_links_move(source=source, target=target, recredits=recredits)
    stored_value.cards_move(source=source, target=target)
    coupons.coupons_move(source=source, target=target)
    discovery.places_move(source=source, target=target)  # favourites, recently-used removals
    messaging.customers_move(source=source, target=target)  # consents, inbox, push devices
    identity.customer_mark_merged(source=source, target=target)
