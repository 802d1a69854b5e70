"""Every lookup by a public id answers "not found" for garbage, on SQLite and PostgreSQL alike.

PostgreSQL refuses text with a NUL byte outright (a DataError, so a 500), and a 5,000
character id is no id: the access helpers reject both before asking the database.
"""

import pytest
from django.http import Http404

from tapgo.catalog import services as catalog
from tapgo.identity import services as identity
from tapgo.merchants import services as merchants
from tapgo.miniapps import services as miniapps
from tapgo.miniapps.tests.scans import opens
from tapgo.ordering import services as ordering
from tapgo.payments import services as payments

GARBAGE = ["", "\x00", "abc\x00def", "x" * 5000, "../../etc", "%00", "ÿ" * 12, None]


@pytest.mark.parametrize("bad", GARBAGE, ids=repr)
def test_access_helpers_answer_404_for_garbage(bad, owner, merchant, app, customer, order):
    calls = [
        lambda: merchants.access_merchant(user=owner, merchant_public_id=bad),
        lambda: merchants.invitation_get(bad),
        lambda: merchants.staff_remove(merchant=merchant, user_public_id=bad, acting=owner),
        lambda: miniapps.access_app(merchant=merchant, app_public_id=bad),
        lambda: miniapps.access_code(merchant=merchant, code=bad),
        lambda: miniapps.live_app(bad),
        lambda: catalog.access_category(merchant=merchant, public_id=bad),
        lambda: catalog.access_product(merchant=merchant, public_id=bad),
        lambda: ordering.access_order_for_merchant(merchant=merchant, public_id=bad),
        lambda: ordering.access_order_for_customer(customer=customer, public_id=bad),
        lambda: payments.access_intent(bad),
    ]
    for call in calls:
        with pytest.raises(Http404):
            call()
    assert opens(bad) is None
    assert identity.customer_from_public_id(bad) is None


@pytest.mark.parametrize("bad", GARBAGE, ids=repr)
def test_adding_a_garbage_product_is_refused(bad, customer, app):
    with pytest.raises(ordering.OrderingError):
        ordering.cart_add(customer=customer, app=app, product_public_id=bad)
