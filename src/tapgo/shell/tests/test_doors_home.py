"""The shell's home doors with Django's test client: pinned and recently used apps, removing
one, pinning from the top bar, the nearby page, and switching between apps back to the page
left (cart kept), with the front door still answering only what Django would."""

import gzip
import io
import re
from decimal import Decimal

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import reverse
from django.utils import translation

from tapgo.discovery import services as discovery
from tapgo.discovery.models import Favourite
from tapgo.flows import listings
from tapgo.identity.services import staff_user_create
from tapgo.merchants.services import merchant_create
from tapgo.miniapps import live
from tapgo.miniapps.models import EntryCode, MiniApp, Visit
from tapgo.shell import front, page
from tapgo.shell import state as shell_state
from tapgo.shell.views.home import distance_label

HOME = reverse("shell:home")
INSIDE = {"Referer": "http://testserver/m/"}  # a move inside the site


@pytest.fixture(autouse=True)
def _fresh():
    front._headers.clear()
    front._app_states.clear()


@pytest.fixture
def bakery(other_merchant):
    return MiniApp.objects.get(slug="bakery")


def scan(client, app, label="1"):
    code = EntryCode.objects.get(app=app, kind="table", table_label=label).code
    assert client.get(reverse("shell:scan", args=[code])).status_code == 200


def menu(client, app, **headers):
    response = client.get(reverse("shell:app", args=[app.slug]), headers=headers or INSIDE)
    assert response.status_code == 200
    return response.content.decode()


def switch_links(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<a href="([^"]+)" data-testid="switch">([^<]+)</a>', html)


def scenes() -> list[tuple[str, str]]:
    return list(Visit.objects.order_by("id").values_list("app__slug", "scene"))


# --- home: recently used, pinned, removing -----------------------------------------------------


def test_home_lists_pinned_above_recent_each_once(client, app, bakery):
    scan(client, app)
    scan(client, bakery)
    html = client.get(HOME).content.decode()
    assert html.index("Bakery") < html.index("Test Café")  # most recent first
    assert f'href="/m/{app.slug}/?scene=recent"' in html
    client.post(reverse("shell:pin", args=[app.slug]), {"pinned": "1", "next": HOME})
    html = client.get(HOME).content.decode()
    pinned, recent = html.split("Recently used</h2>", 1)
    assert "Test Café" in pinned and "Test Café" not in recent and "Bakery" in recent
    assert html.count('data-testid="pinned-app"') == 1
    assert html.count('data-testid="recent-app"') == 1


def test_an_empty_home_says_what_will_appear(client, db):
    html = client.get(HOME).content.decode()
    assert "Mini apps you open will appear here." in html
    assert 'data-testid="near-me"' in html and "shell/home.js" in html


def test_removing_an_app_from_recents_shows_at_once_everywhere(client, app, bakery):
    scan(client, bakery)
    scan(client, app)
    assert [name for _h, name in switch_links(menu(client, app))] == ["Bakery"]
    response = client.post(reverse("shell:recent_remove"), {"app": bakery.slug})
    assert response.status_code == 302 and response.url == HOME
    html = client.get(HOME).content.decode()
    assert "is off your recently used list" in html
    assert 'data-testid="recent-app"' in html and "Bakery" not in html.split("Recently used")[1]
    # The top bar's cached list moved on with the stamp: no Bakery there either.
    assert switch_links(menu(client, app)) == []
    # A later visit brings it back.
    scan(client, bakery)
    assert [name for _h, name in switch_links(menu(client, app))] == ["Bakery"]
    assert "Bakery" in client.get(HOME).content.decode()


@pytest.mark.parametrize("slug", ["", "nope-nope", "<script>", "x" * 5000])
def test_removing_an_unknown_app_says_so(client, app, slug):
    scan(client, app)
    response = client.post(reverse("shell:recent_remove"), {"app": slug}, follow=True)
    assert response.status_code == 200
    assert "That mini app is not available." in response.content.decode()
    assert "Test Café" in response.content.decode()


def test_removing_needs_a_post_and_a_customer(client, app):
    assert client.get(reverse("shell:recent_remove")).status_code == 405
    response = client.post(reverse("shell:recent_remove"), {"app": app.slug})
    assert response.status_code == 302  # no customer yet: nothing to remove, no error


# --- pinning from the top bar ------------------------------------------------------------------


def test_pin_and_unpin_from_the_top_bar(client, app):
    scan(client, app)
    html = menu(client, app)
    assert '<button name="pinned" value="1">Pin to home</button>' in html
    action = re.search(r'<form class="pin-form" method="post" action="([^"]+)"', html)[1]
    assert action == reverse("shell:pin", args=[app.slug])
    cart = reverse("shell:cart", args=[app.slug])
    response = client.post(action, {"pinned": "1", "next": cart})
    assert response.status_code == 302 and response.url == cart
    assert Favourite.objects.filter(app=app).count() == 1
    html = menu(client, app)
    assert "is pinned to your home" in html
    assert '<button name="pinned" value="0">Unpin from home</button>' in html
    # The same pin twice is one pin; the cart page shows the state too.
    client.post(action, {"pinned": "1"})
    assert Favourite.objects.filter(app=app).count() == 1
    cart_html = client.get(cart, headers=INSIDE).content.decode()
    assert '<button name="pinned" value="0">Unpin from home</button>' in cart_html  # not escaped
    client.post(action, {"pinned": "0", "next": "https://evil.example/"})
    assert not Favourite.objects.exists()
    assert "Pin to home" in menu(client, app)


@pytest.mark.parametrize("value", ["", "2", "yes", "1\x00"])
def test_a_bad_pin_request_changes_nothing(client, app, value):
    scan(client, app)
    response = client.post(reverse("shell:pin", args=[app.slug]), {"pinned": value}, follow=True)
    assert response.status_code == 200 and "Choose to pin or to unpin." in response.content.decode()
    assert not Favourite.objects.exists()


def test_pinning_an_app_that_is_not_live_says_so(client, app):
    listings.app_set_published(app=app, published=False)
    response = client.post(reverse("shell:pin", args=[app.slug]), {"pinned": "1"}, follow=True)
    assert "That mini app is not available." in response.content.decode()
    assert not Favourite.objects.exists()


def test_the_menu_skeleton_stays_the_same_for_everyone(client, app, bakery):
    """The pin and the switcher are per-customer bits, not part of the cached skeleton."""
    scan(client, app)
    client.post(reverse("shell:pin", args=[app.slug]), {"pinned": "1"})
    skel = page.skeleton(live.app_state(app.slug))
    text = b"".join(skel.pieces).decode()
    assert "Pin to home" not in text and "Unpin" not in text
    assert {"pin", "recent", "csrf", "next"} <= set(skel.names)


# --- nearby ------------------------------------------------------------------------------------


@pytest.fixture
def street(db):
    """Three cafés up the same street from (31.2300, 121.4700), and one across town."""
    owner = staff_user_create(email="street@test.test", password="correct horse battery")
    made = {}
    for slug, name, lat in [
        ("corner", "Corner", "31.233148"),  # 350 m north
        ("midway", "Midway", "31.251584"),  # 2.4 km north
        ("uptown", "Uptown", "31.310000"),  # 8.9 km north
    ]:
        merchant = merchant_create(
            owner=owner, name=name, latitude=Decimal(lat), longitude=Decimal("121.470000")
        )
        made[slug] = listings.app_create(merchant=merchant, name=name, slug=slug)
        listings.app_set_published(app=made[slug], published=True)
    return made


def test_nearby_lists_apps_nearest_first_with_distances_and_widens(client, street):
    url = reverse("shell:nearby")
    html = client.get(url, {"lat": "31.2300", "lng": "121.4700"}).content.decode()
    assert re.findall(r'data-testid="nearby-app">\s*<strong>([^<]+)</strong>', html) == ["Corner"]
    assert '<span class="distance" data-testid="distance">350 m</span>' in html
    assert 'href="/m/corner/?scene=nearby"' in html
    widen = re.search(r'href="([^"]+)" data-testid="widen"', html)[1].replace("&amp;", "&")
    assert widen == f"{url}?lat=31.230000&lng=121.470000&r=3"
    html = client.get(widen).content.decode()
    assert re.findall(r'data-testid="nearby-app">\s*<strong>([^<]+)</strong>', html) == [
        "Corner",
        "Midway",
    ]
    assert ">2.4 km<" in html
    html = client.get(url, {"lat": "31.23", "lng": "121.47", "r": "30"}).content.decode()
    assert ">8.9 km<" in html and 'data-testid="widen"' not in html
    assert "This is as far as the search goes." in html
    # Opening one records the door.
    client.get("/m/corner/?scene=nearby", headers=INSIDE)
    assert scenes() == [("corner", "nearby")]


def test_nearby_with_nothing_near_offers_to_widen(client, street):
    html = client.get(reverse("shell:nearby"), {"lat": "0", "lng": "0"}).content.decode()
    assert "No mini apps within 1 km." in html and 'data-testid="widen"' in html


def test_nearby_without_a_position_offers_the_button_and_a_form(client, db):
    response = client.get(reverse("shell:nearby"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "data-near-me" in html and 'name="lat"' in html and "nearby-app" not in html


@pytest.mark.parametrize(
    "query",
    [
        {"lat": "abc", "lng": "1"},
        {"lat": "1"},
        {"lng": "1"},
        {"lat": "91", "lng": "0"},
        {"lat": "0", "lng": "-181"},
        {"lat": "nan", "lng": "0"},
        {"lat": "0", "lng": "0", "r": "2"},
        {"lat": "0", "lng": "0", "r": "-1"},
        {"lat": "1" * 10_000, "lng": "0"},
        {"lat": "0\x00", "lng": "0"},
        {"lat": "<script>", "lng": "0"},
    ],
)
def test_bad_nearby_input_gets_a_clear_message(client, street, query):
    response = client.get(reverse("shell:nearby"), query)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="nearby-error"' in html and "<script>" not in html
    assert "nearby-app" not in html


def test_distance_labels():
    with translation.override("en"):
        assert [
            distance_label(m) for m in (0, 4, 349, 354.9, 994, 995, 2_449, 9_960, 12_345, 30_000)
        ] == [
            "10 m", "10 m", "350 m", "350 m", "990 m", "1 km", "2.4 km", "10 km", "12 km", "30 km"
        ]  # fmt: skip


# --- switching between apps, back to the page left ---------------------------------------------


def test_switching_back_comes_to_the_page_left_with_the_cart(client, app, bakery, product):
    scan(client, bakery)
    scan(client, app, "2")
    client.post(reverse("shell:cart_add", args=[app.slug]), {"item": product.public_id})
    cart = reverse("shell:cart", args=[app.slug])
    assert client.get(cart, headers=INSIDE).status_code == 200
    # Over to the bakery from the home page...
    html = client.get(HOME).content.decode()
    assert f'href="{cart}?scene=recent"' in html  # the café's row goes back to its cart
    client.get(reverse("shell:app", args=[bakery.slug]) + "?scene=recent", headers=INSIDE)
    # ...whose top bar switches back to the café's cart in one tap.
    links = switch_links(menu(client, bakery))
    assert links == [(f"{cart}?scene=recent", "Test Café")]
    response = client.get(links[0][0], headers={"Referer": "http://testserver/m/bakery/"})
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="cart-line"' in html and "Latte" in html
    assert "Dine in at table 2" in html
    assert scenes()[-2:] == [("bakery", "recent"), ("test-cafe", "recent")]
    # Back on the café's menu, the café is left at its menu.
    menu(client, app)
    assert switch_links(menu(client, bakery)) == [(f"/m/{app.slug}/?scene=recent", "Test Café")]


def test_the_cart_card_and_order_pages_record_only_a_named_door(client, app, product, order):
    scan(client, app)
    before = Visit.objects.count()
    cart = reverse("shell:cart", args=[app.slug])
    client.get(cart)  # no Referer, no door named: a return from elsewhere, no visit
    client.get(reverse("shell:card", args=[app.slug]))
    assert Visit.objects.count() == before
    client.get(cart + "?scene=recent")
    client.get(reverse("shell:card", args=[app.slug]) + "?scene=recent", headers=INSIDE)
    assert scenes()[-2:] == [("test-cafe", "recent"), ("test-cafe", "recent")]


def test_the_page_left_is_kept_for_a_while_and_only_inside_the_app(client, app, bakery):
    scan(client, app)
    card = reverse("shell:card", args=[app.slug])
    client.get(card, headers=INSIDE)
    scan(client, bakery)
    assert switch_links(menu(client, bakery))[0][0] == f"{card}?scene=recent"
    # Older than RESUME_SECONDS: the app's menu again.
    st = shell_state.ShellState()
    assert st.resume_path(app.pk) is None
    st.resume = {str(app.pk): [card, 0]}
    assert st.resume_path(app.pk) is None
    st.resume = {str(app.pk): ["/m/bakery/card/", 2**40]}
    found = page._switcher(st, ([(app.pk, app.slug, app.name)], frozenset()), bakery.pk)
    assert found.links == ((f"/m/{app.slug}/", app.name),)  # not a path of this app: refused


def test_the_state_keeps_a_bounded_number_of_pages():
    st = shell_state.ShellState(guest="g", customer_id=1)
    for pk in range(shell_state.MAX_APPS + 5):
        st.was_at(pk, f"/m/app-{pk}/cart/")
    assert len(st.resume) == shell_state.MAX_APPS
    assert st.resume_path(shell_state.MAX_APPS + 4) == f"/m/app-{shell_state.MAX_APPS + 4}/cart/"
    assert st.resume_path(0) is None
    st.was_at(99, "/m/x/" + "p" * 400)  # too long to keep: the menu
    assert st.resume_path(99) is None


# --- the front door ----------------------------------------------------------------------------


def _environ(path, cookies):
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "HTTP_COOKIE": cookies,
        "HTTP_ACCEPT_ENCODING": "gzip",
        "HTTP_ACCEPT_LANGUAGE": "en",
        "HTTP_REFERER": "http://testserver" + path,
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
    }


def _call(environ):
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, headers

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        body = b"".join(front.application(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    cookies = [v for k, v in seen["headers"] if k.lower() == "set-cookie"]
    if any(k.lower() == "content-encoding" and v == "gzip" for k, v in seen["headers"]):
        body = gzip.decompress(body)
    return seen["status"], cookies, body.decode()


def test_the_front_door_leaves_a_remembered_page_to_django(
    client, app, bakery, product, monkeypatch
):
    calls = []
    real = front.django_application

    def counting(environ, start_response):
        calls.append(environ["PATH_INFO"])
        return real(environ, start_response)

    monkeypatch.setattr(front, "django_application", counting)
    scan(client, bakery)
    scan(client, app)
    path = reverse("shell:app", args=[app.slug])
    jar = "; ".join(f"{k}={m.value}" for k, m in client.cookies.items())
    _call(_environ(path, jar))  # Django renders; the front door notes its headers
    status, _set, html = _call(_environ(path, jar))
    assert status == "200 OK" and calls == [path]  # served by the front door
    assert switch_links(html) == [("/m/bakery/?scene=recent", "Bakery")]
    # The customer goes to the bakery's cart: the bakery's link now goes there.
    client.get(reverse("shell:cart", args=[bakery.slug]), headers=INSIDE)
    jar = "; ".join(f"{k}={m.value}" for k, m in client.cookies.items())
    status, _set, html = _call(_environ(path, jar))
    assert switch_links(html) == [("/m/bakery/cart/?scene=recent", "Bakery")]
    # The café's own remembered page: the front door hands the menu to Django, which forgets
    # it (a new cookie); after that the front door serves it again.
    client.get(reverse("shell:cart", args=[app.slug]), headers=INSIDE)
    jar = "; ".join(f"{k}={m.value}" for k, m in client.cookies.items())
    calls.clear()
    status, set_cookies, _html = _call(_environ(path, jar))
    assert calls == [path] and any(c.startswith("tg_shell=") for c in set_cookies)
    new = re.search(r"tg_shell=([^;]+)", next(c for c in set_cookies if "tg_shell" in c))[1]
    jar = re.sub(r"tg_shell=[^;]+", f"tg_shell={new}", jar)
    calls.clear()
    status, _set, _html = _call(_environ(path, jar))
    assert status == "200 OK" and calls == []


def test_menu_page_queries_do_not_grow(client, app, bakery, django_assert_max_num_queries):
    scan(client, bakery)
    scan(client, app)
    menu(client, app)  # the switcher is cached for this stamp now
    with django_assert_max_num_queries(1):  # the app's state, nothing per customer
        html = menu(client, app)
    assert switch_links(html) == [("/m/bakery/?scene=recent", "Bakery")]


def test_discovery_lists_are_what_home_shows(client, app, bakery):
    scan(client, app)
    customer = Visit.objects.get().customer
    assert discovery.recently_used(customer) == [app]
