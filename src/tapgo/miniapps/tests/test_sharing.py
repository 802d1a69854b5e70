"""Share links: one per customer and app, tokens that name nothing else, visits and orders
credited to the sharer, and what a guest's links become when they sign in."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tapgo.core.scenes import Scene
from tapgo.flows import listings
from tapgo.flows import orders as order_flows
from tapgo.flows.customers import customer_merge
from tapgo.identity.models import Customer
from tapgo.identity.services import customer_create_guest
from tapgo.miniapps import services
from tapgo.miniapps.models import MiniApp, ShareLink, Visit
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Order


def place(customer, app, product, key="k"):
    ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id)
    return ordering.order_place(
        customer=customer, app=app, checkout_key=key, fulfilment="pickup", pickup_name="B"
    )


@pytest.fixture
def sharer(db):
    return customer_create_guest()


@pytest.fixture
def link(app, sharer):
    return services.share_link_for(app=app, customer=sharer)


def test_one_link_per_customer_and_app(app, other_merchant, sharer):
    bakery = MiniApp.objects.get(slug="bakery")
    first = services.share_link_for(app=app, customer=sharer)
    assert services.share_link_for(app=app, customer=sharer) == first
    other = services.share_link_for(app=bakery, customer=sharer)
    assert other != first and other.merchant_id == bakery.merchant_id
    assert services.share_link_for(app=app, customer=customer_create_guest()) != first
    assert ShareLink.objects.count() == 3
    assert len(first.token) == services.SHARE_TOKEN_LENGTH


def test_a_token_names_its_link_for_its_own_app_only(app, other_merchant, link):
    bakery = MiniApp.objects.get(slug="bakery")
    bakery_link = services.share_link_for(app=bakery, customer=customer_create_guest())
    assert services.share_resolve(app=app, token=link.token) == link
    assert services.share_resolve(app=bakery, token=link.token) is None
    assert services.share_resolve(app=app, token=bakery_link.token) is None


@pytest.mark.parametrize(
    "token",
    [
        "",
        None,
        12345,
        ["x"],
        "a" * 12,  # well formed, unknown
        "A" * 12,  # outside the alphabet
        "0" * 12,
        "a" * 11,
        "a" * 13,
        "x" * 10_000,
        "分享分享分享分享分享分享",
        "a" * 11 + "\x00",
        "' OR 1=1 --",
        "%",
    ],
)
def test_a_made_up_token_names_nothing(app, link, token):
    assert services.share_resolve(app=app, token=token) is None


def test_a_visit_through_a_link_is_credited_and_the_first_is_marked(app, link):
    friend = customer_create_guest()
    visit = services.visit_record(app=app, customer=friend, scene=Scene.SHARE, share=link)
    assert (visit.scene, visit.share, visit.first) == ("share", link, True)
    again = services.visit_record(app=app, customer=friend, scene=Scene.SHARE, share=link)
    assert (again.share, again.first) == (link, False)


def test_first_is_per_merchant(app, other_merchant, link, merchant, category):
    from tapgo.flows.listings import product_create

    bakery = MiniApp.objects.get(slug="bakery")
    second_app = listings.app_create(merchant=merchant, name="Second", slug="second-app")
    product_create(merchant=merchant, category=category, name="Tea", price=100)
    friend = customer_create_guest()
    assert services.visit_record(app=app, customer=friend, scene=Scene.DIRECT).first
    # Another app of the same merchant: not a new customer there.
    assert not services.visit_record(app=second_app, customer=friend, scene=Scene.DIRECT).first
    # Another merchant: new there.
    assert services.visit_record(app=bakery, customer=friend, scene=Scene.SHARE).first


def test_the_sharer_gets_no_credit_for_their_own_visits(app, sharer, link):
    visit = services.visit_record(app=app, customer=sharer, scene=Scene.SHARE, share=link)
    assert (visit.scene, visit.share) == ("share", None)


def test_another_apps_link_gets_no_credit(app, other_merchant):
    bakery = MiniApp.objects.get(slug="bakery")
    bakery_link = services.share_link_for(app=bakery, customer=customer_create_guest())
    visit = services.visit_record(
        app=app, customer=customer_create_guest(), scene=Scene.SHARE, share=bakery_link
    )
    assert visit.share is None


def test_an_order_is_credited_to_the_door_the_customer_last_came_by(app, product, link):
    friend = customer_create_guest()
    services.visit_record(app=app, customer=friend, scene=Scene.SHARE, share=link)
    order = place(friend, app, product, "k1")
    assert (order.scene, order.share_id) == ("share", link.pk)

    # Coming back by another door takes the credit from the shared link (last touch).
    services.visit_record(app=app, customer=friend, scene=Scene.SEARCH)
    order = place(friend, app, product, "k2")
    assert (order.scene, order.share_id) == ("search", None)


def test_credit_ends_with_the_attribution_window(app, product, link):
    friend = customer_create_guest()
    visit = services.visit_record(app=app, customer=friend, scene=Scene.SHARE, share=link)
    assert services.entry_door(app=app, customer=friend) == ("share", link.pk)
    later = visit.created_at + services.ATTRIBUTION_WINDOW + timedelta(seconds=1)
    assert services.entry_door(app=app, customer=friend, now=later) == ("", None)
    Visit.objects.filter(pk=visit.pk).update(
        created_at=timezone.now() - services.ATTRIBUTION_WINDOW - timedelta(minutes=1)
    )
    order = place(friend, app, product)
    assert (order.scene, order.share_id) == ("", None)


def test_an_order_without_any_visit_has_no_door(app, product):
    order = place(customer_create_guest(), app, product)
    assert (order.scene, order.share) == ("", None)


def test_a_visit_to_another_app_is_not_this_apps_door(app, other_merchant, product, link):
    friend = customer_create_guest()
    bakery = MiniApp.objects.get(slug="bakery")
    services.visit_record(app=app, customer=friend, scene=Scene.SHARE, share=link)
    services.visit_record(app=bakery, customer=friend, scene=Scene.SEARCH)
    assert services.entry_door(app=app, customer=friend) == ("share", link.pk)


# --- merging a guest into an account --------------------------------------------------------


def test_merging_moves_the_guests_links(app, other_merchant, product):
    bakery = MiniApp.objects.get(slug="bakery")
    guest, account = customer_create_guest(), Customer.objects.create(email="a@example.com")
    guest_link = services.share_link_for(app=app, customer=guest)
    account_link = services.share_link_for(app=bakery, customer=account)
    customer_merge(source=guest, target=account)
    assert set(ShareLink.objects.filter(sharer=account)) == {guest_link, account_link}
    assert not ShareLink.objects.filter(sharer=guest).exists()


def test_merging_keeps_the_accounts_link_and_moves_the_credit_to_it(app, product):
    guest, account = customer_create_guest(), Customer.objects.create(email="a@example.com")
    guest_link = services.share_link_for(app=app, customer=guest)
    account_link = services.share_link_for(app=app, customer=account)
    friend = customer_create_guest()
    services.visit_record(app=app, customer=friend, scene=Scene.SHARE, share=guest_link)
    order = place(friend, app, product)
    assert order.share_id == guest_link.pk

    customer_merge(source=guest, target=account)

    assert list(ShareLink.objects.all()) == [account_link]
    assert Visit.objects.get(customer=friend).share_id == account_link.pk
    order.refresh_from_db()
    assert (order.scene, order.share_id) == ("share", account_link.pk)


def test_merging_drops_the_credit_the_account_gave_itself(app, product):
    """Signed in on one phone, the sharer opened their own link as a guest on another one."""
    guest, account = customer_create_guest(), Customer.objects.create(email="a@example.com")
    account_link = services.share_link_for(app=app, customer=account)
    services.visit_record(app=app, customer=guest, scene=Scene.SHARE, share=account_link)
    order = place(guest, app, product)
    assert order.share_id == account_link.pk

    customer_merge(source=guest, target=account)

    visit = Visit.objects.get()
    assert (visit.customer_id, visit.scene, visit.share) == (account.pk, "share", None)
    order.refresh_from_db()
    assert (order.customer_id, order.scene, order.share) == (account.pk, "share", None)


def test_merging_leaves_one_first_visit_per_merchant(app, other_merchant):
    bakery = MiniApp.objects.get(slug="bakery")
    guest, account = customer_create_guest(), Customer.objects.create(email="a@example.com")
    earlier = services.visit_record(app=app, customer=account, scene=Scene.DIRECT)
    services.visit_record(app=app, customer=guest, scene=Scene.SHARE)
    services.visit_record(app=bakery, customer=guest, scene=Scene.SCAN)
    customer_merge(source=guest, target=account)
    firsts = Visit.objects.filter(customer=account, first=True)
    assert sorted(firsts.values_list("merchant_id", flat=True)) == sorted(
        [app.merchant_id, bakery.merchant_id]
    )
    assert firsts.filter(merchant_id=app.merchant_id).get() == earlier


# --- the console's report -------------------------------------------------------------------


def test_the_report_counts_what_each_link_brought(app, product, merchant, other_merchant):
    from tapgo.analytics.sharing import share_report

    since = timezone.now() - timedelta(days=30)
    a, b = customer_create_guest(), Customer.objects.create(email="b@example.com")
    link_a = services.share_link_for(app=app, customer=a)
    link_b = services.share_link_for(app=app, customer=b)
    # A's link: two friends, one orders and pays, one visits twice.
    paying, looking = customer_create_guest(), customer_create_guest()
    services.visit_record(app=app, customer=paying, scene=Scene.SHARE, share=link_a)
    order = place(paying, app, product, "pay")
    assert order_flows.order_mark_paid(order=order, amount=order.total, currency=order.currency)
    for _ in range(2):
        services.visit_record(app=app, customer=looking, scene=Scene.SHARE, share=link_a)
    # B's link: a returning customer, whose order stays unpaid.
    regular = customer_create_guest()
    services.visit_record(app=app, customer=regular, scene=Scene.SCAN)
    services.visit_record(app=app, customer=regular, scene=Scene.SHARE, share=link_b)
    place(regular, app, product, "unpaid")
    # A made-up token: scene share, no credit.
    services.visit_record(app=app, customer=customer_create_guest(), scene=Scene.SHARE)
    # Another merchant's share traffic is not this one's.
    bakery = MiniApp.objects.get(slug="bakery")
    services.visit_record(
        app=bakery,
        customer=customer_create_guest(),
        scene=Scene.SHARE,
        share=services.share_link_for(app=bakery, customer=a),
    )

    report = share_report(merchant=merchant, since=since)

    assert [(s.visits, s.new_customers, s.orders, s.revenue) for s in report.sharers] == [
        (3, 2, 1, order.total),
        (1, 0, 0, 0),
    ]
    assert [s.label for s in report.sharers] == [
        services.share_label(link_a.token),
        services.share_label(link_b.token),
    ]
    assert [s.signed_in for s in report.sharers] == [False, True]
    assert report.sharers[0].label not in (link_a.token, a.public_id)
    assert report.sharer_count == 2
    c, t = report.credited, report.total
    assert (c.visits, c.new_customers, c.orders, c.revenue) == (4, 2, 1, order.total)
    assert (t.visits, t.new_customers, t.orders, t.revenue) == (5, 3, 1, order.total)
    # Nothing before the period.
    empty = share_report(merchant=merchant, since=timezone.now() + timedelta(seconds=1))
    assert (empty.sharers, empty.total.visits) == ([], 0)
    assert Order.objects.filter(share=link_a).count() == 1


def test_the_report_takes_three_queries_however_many_sharers(
    app, merchant, django_assert_num_queries
):
    from tapgo.analytics.sharing import share_report

    for _ in range(8):
        link = services.share_link_for(app=app, customer=customer_create_guest())
        services.visit_record(
            app=app, customer=customer_create_guest(), scene=Scene.SHARE, share=link
        )
    with django_assert_num_queries(3):
        report = share_report(merchant=merchant, since=timezone.now() - timedelta(days=1))
    assert len(report.sharers) == 8


# --- races ----------------------------------------------------------------------------------


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_two_requests_making_one_link_at_once_make_one_row(concurrently, app):
    for _round in range(5):
        sharer = customer_create_guest()

        def make(_i, sharer=sharer):
            fresh = MiniApp.objects.get(pk=app.pk)
            return services.share_link_for(app=fresh, customer=sharer)

        results = concurrently(make, 4)
        assert [r for r in results if isinstance(r, BaseException)] == []
        assert len({r.pk for r in results}) == 1
        assert ShareLink.objects.filter(sharer=sharer).count() == 1


def test_a_link_made_between_the_look_and_the_insert_is_the_one_returned(app, monkeypatch):
    """The competing writer's row lands just after this request looked for one: the insert
    hits the unique constraint and the request returns that row."""
    sharer = customer_create_guest()
    theirs = ShareLink.objects.create(merchant_id=app.merchant_id, app=app, sharer=sharer)
    real_filter = ShareLink.objects.filter
    looks = []

    def filter_missing_once(*args, **kwargs):
        looks.append(kwargs)
        if len(looks) == 1:
            return ShareLink.objects.none()
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(ShareLink.objects, "filter", filter_missing_once)
    assert services.share_link_for(app=app, customer=sharer) == theirs
    assert len(looks) == 2
    monkeypatch.undo()
    assert ShareLink.objects.count() == 1
