"""How the shell serves its hot page: the skeleton, the gzip stream, the cookie state, the
front door in front of Django, and the cap on live streams. (Speed itself is measured by
bench/, never asserted here.)"""

import gzip
import io
import re

import pytest
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import reverse

from tapgo.core import live
from tapgo.miniapps.live import app_state
from tapgo.miniapps.models import EntryCode, Visit
from tapgo.shell import front, page
from tapgo.wsgi import application as wsgi_application


@pytest.fixture(autouse=True)
def _fresh():
    cache.clear()
    front._headers.clear()
    front._app_states.clear()


def _scan(client, app, label="1"):
    code = EntryCode.objects.get(app=app, kind="table", table_label=label).code
    response = client.get(reverse("shell:scan", args=[code]))
    assert response.status_code == 200
    return response


def _cookies(client) -> str:
    return "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())


def _environ(path, cookies, *, referer=True, query="", accept="gzip, deflate"):
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "HTTP_COOKIE": cookies,
        "HTTP_ACCEPT_ENCODING": accept,
        "HTTP_ACCEPT_LANGUAGE": "en",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
    }
    if referer:
        environ["HTTP_REFERER"] = "http://testserver" + path
    return environ


def _raw(environ, wsgi_app=None) -> bytes:
    """The response body exactly as the application sends it."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        return b"".join((wsgi_app or front.application)(environ, lambda *args: None))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _call(environ, wsgi_app=None):
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, headers

    # Django's handler closes the database connection around a request, which inside a
    # test's transaction would end the test; its test client disconnects that too.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        body = b"".join((wsgi_app or front.application)(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    headers = {k.lower(): v for k, v in seen["headers"] if k.lower() != "set-cookie"}
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    return seen["status"], headers, body.decode()


@pytest.fixture
def django_only(monkeypatch):
    """Count the requests the front door hands to Django."""
    calls = []
    real = front.django_application

    def counting(environ, start_response):
        calls.append(environ["PATH_INFO"])
        return real(environ, start_response)

    monkeypatch.setattr(front, "django_application", counting)
    return calls


def _no_token(html):
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "TOKEN", html)


def test_the_gzip_stream_decodes_to_the_plain_page(client, app, product):
    _scan(client, app)
    state = app_state(app.slug)
    skel = page.skeleton(state)
    values = {name: f"<b>{name} é</b>" for name in skel.names}
    plain = page.join(skel, values, gzip=False)
    assert gzip.decompress(page.join(skel, values, gzip=True)) == plain
    assert "<b>csrf é</b>".encode() in plain and b"Latte" in plain


def test_the_front_door_answers_what_django_answers(client, app, product, django_only):
    _scan(client, app, "2")
    client.post(reverse("shell:cart_add", args=[app.slug]), {"item": product.public_id})
    cookies = _cookies(client)
    path = reverse("shell:app", args=[app.slug])
    # The first request goes to Django, which renders the skeleton; the front door notes
    # the headers it sent.
    status, django_headers, django_html = _call(_environ(path, cookies))
    assert status == "200 OK" and django_only == [path]
    assert "Added to your cart" in django_html
    # That page showed the flash message; the browser drops its cookie.
    cookies = re.sub(r"(; )?messages=[^;]*", "", cookies)
    status, headers, html = _call(_environ(path, cookies))
    assert status == "200 OK" and django_only == [path]  # answered by the front door
    status, django_headers, django_html = _call(_environ(path, cookies), wsgi_application)
    # Byte for byte what Django answers (the body as sent, gzip included), with the very
    # headers Django's middleware sent (CSP, framing, Vary, the language, ...).
    assert _raw(_environ(path, cookies)) == _raw(_environ(path, cookies), wsgi_application)
    assert django_only == [path]  # the front door's answer above was its own
    assert html == django_html
    assert "Table 2" in html and 'id="cart-count">1<' in html and "View cart (1 item)" in html
    assert headers == {k: v for k, v in django_headers.items() if k not in ("date", "server")}
    assert "'unsafe-inline'" not in headers["content-security-policy"]
    # The token it embeds is one Django accepts.
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]
    added = client.post(
        reverse("shell:cart_add", args=[app.slug]),
        {"item": product.public_id, "csrfmiddlewaretoken": token},
    )
    assert added.status_code == 302


def test_the_front_door_leaves_the_rest_to_django(client, app, product, django_only):
    _scan(client, app)
    cookies = _cookies(client)
    path = reverse("shell:app", args=[app.slug])
    _call(_environ(path, cookies))  # Django, noting the headers
    visits = Visit.objects.count()
    cases = [
        _environ(path, cookies, referer=False),  # entering the app: a visit to record
        _environ(path, cookies, query="scene=share"),
        _environ(path, cookies + "; messages=abc"),  # a flash message to show
        _environ(path, re.sub(r"csrftoken=\w+", "csrftoken=x", cookies)),
        _environ(path, re.sub(r"tg_shell=[^;]+", "tg_shell=forged", cookies)),
        _environ(path, ""),
    ]
    for environ in cases:
        before = len(django_only)
        _call(environ)
        assert len(django_only) == before + 1, environ
    assert Visit.objects.count() == visits + 2  # the direct and the shared entry


def test_what_the_merchant_changes_shows_within_a_second(client, app, product, django_only):
    from tapgo.flows.listings import app_set_published
    from tapgo.merchants.services import ordering_pause

    _scan(client, app)
    cookies = _cookies(client)
    path = reverse("shell:app", args=[app.slug])
    _call(_environ(path, cookies))
    _call(_environ(path, cookies))
    ordering_pause(merchant=app.merchant, paused=True, reason="Back at 3pm")
    # The front door reads the app's state at most once a second (APP_STATE_SECONDS)...
    assert "Back at 3pm" not in _call(_environ(path, cookies))[2]
    front._app_states.clear()  # ...a second later:
    assert "Back at 3pm" in _call(_environ(path, cookies))[2]
    app_set_published(app=app, published=False)
    front._app_states.clear()
    status, _headers, _html = _call(_environ(path, cookies))
    assert status.startswith("404")


def test_the_cart_count_follows_the_cart(client, app, product):
    _scan(client, app)
    add = reverse("shell:cart_add", args=[app.slug])
    client.post(add, {"item": product.public_id, "quantity": "2"})
    page_html = client.get(
        reverse("shell:app", args=[app.slug]), headers={"Referer": "http://testserver/m/"}
    ).content.decode()
    assert 'id="cart-count">2<' in page_html and "View cart (2 items)" in page_html
    cart = client.get(reverse("shell:cart", args=[app.slug])).content.decode()
    key = re.search(r'name="checkout_key" value="([^"]+)"', cart)[1]
    client.post(
        reverse("shell:checkout", args=[app.slug]), {"checkout_key": key, "fulfilment": "dine_in"}
    )
    page_html = client.get(
        reverse("shell:app", args=[app.slug]), headers={"Referer": "http://testserver/m/"}
    ).content.decode()
    assert 'id="cart-count">0<' in page_html and "View cart" not in page_html


def test_a_forged_shell_cookie_is_ignored(client, app, product):
    _scan(client, app)
    client.cookies["tg_shell"] = client.cookies["tg_shell"].value[:-3] + "abc"
    html = client.get(
        reverse("shell:app", args=[app.slug]), headers={"Referer": "http://testserver/m/"}
    ).content.decode()
    assert 'id="cart-count">0<' in html and "Table 1" in html  # read again from the database


def test_live_streams_past_the_cap_poll_instead(client, app, product, settings, monkeypatch):
    settings.LIVE_STREAM_SECONDS = 0.2
    settings.LIVE_POLL_SECONDS = 0.05
    monkeypatch.setenv("TAPGO_LIVE_STREAMS", "1")
    monkeypatch.setattr(live, "_open", {})  # streams other tests left open count here
    slot = live._open_stream(5)  # another page holds this worker's one stream
    try:
        response = live.stream(
            None, lambda after: [(7, "status", {"n": 1})] if after < 7 else [], after=0
        )
        body = b"".join(response.streaming_content).decode()
    finally:
        live._close_stream(slot)
    assert body.startswith(f"retry: {live.LIVE_POLL_RETRY_MS}") and "id: 7" in body
    response = live.stream(None, lambda after: [], after=0)
    assert b"connected" in b"".join(response.streaming_content)
    assert not live._open  # the stream gave its slot back


def test_the_front_door_is_a_setting(settings):
    from tapgo import cli

    settings.FRONT_DOOR = True
    assert cli.wsgi_app() == "tapgo.shell.front:application"
    settings.FRONT_DOOR = False
    assert cli.wsgi_app() == "tapgo.wsgi:application"


def test_the_front_door_loads_as_the_web_server_loads_it():
    """granian imports `tapgo.shell.front` in a fresh interpreter, before Django is set up:
    the module sets Django up first (through tapgo.wsgi), then imports what needs it."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", "import tapgo.shell.front"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
