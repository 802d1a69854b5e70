"""Tapgo as a user runs it: `tapgo serve` and `tapgo worker` as real processes, over HTTP.

A customer scans, orders and approves on the sandbox page; only the worker's signed webhook,
sent over HTTP to the server, marks the order paid. A second order left unpaid expires
through the worker's deferred task and gives its stock back. Runs on the database the suite
runs on (a database of its own on PostgreSQL).
"""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager

import pytest
from tests.processes import Browser, django_print, free_port, tapgo

pytestmark = pytest.mark.process  # real `tapgo serve` and worker processes

PAY_SECONDS = 8


@contextmanager
def _running(env, port):
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tapgo.cli", "serve", "--port", str(port), "--workers", "1"],
            env=env,
            start_new_session=True,
        ),
        subprocess.Popen(
            [sys.executable, "-m", "tapgo.cli", "worker"], env=env, start_new_session=True
        ),
    ]
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError("tapgo serve did not start") from None
                time.sleep(0.2)
        yield
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, 15)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, 9)


def _order(customer: Browser, code: str, product_name: str) -> str:
    _url, menu = customer.get(f"/s/{code}")
    item = re.search(
        r'id="p-([a-z0-9]+)"[^>]*>(?:(?!</article>).)*?<h3>(?:<a [^>]*>)?'
        + re.escape(product_name),
        menu,
        re.S,
    )[1]
    customer.post("/m/harbour-cafe/cart/add", {"item": item}, menu)
    _url, cart = customer.get("/m/harbour-cafe/cart/")
    key = re.search(r'name="checkout_key" value="([^"]+)"', cart)[1]
    url, pay_page = customer.post(
        "/m/harbour-cafe/checkout", {"checkout_key": key, "fulfilment": "dine_in"}, cart
    )
    assert "/payments/sandbox/" in url, url
    return url, pay_page


def _status(customer: Browser, order_url: str) -> str:
    _url, page = customer.get(urllib.parse.urlsplit(order_url).path)
    return re.search(r'data-testid="order-status" data-status="([a-z_]+)"', page)[1]


def _wait_for(customer, order_url, status, seconds):
    deadline = time.monotonic() + seconds
    while (seen := _status(customer, order_url)) != status:
        assert time.monotonic() < deadline, f"order stayed {seen}, expected {status}"
        time.sleep(0.3)


def test_serve_and_worker_take_an_order_from_scan_to_paid_and_expire_the_unpaid(process_env):
    port = free_port()
    env = dict(
        process_env,
        TAPGO_PUBLIC_URL=f"http://127.0.0.1:{port}",
        TAPGO_ORDER_PAYMENT_SECONDS=str(PAY_SECONDS),
    )
    tapgo(env, "migrate", "--noinput", "-v0")
    seed = (
        "import django; django.setup(); from tapgo import demo; "
        "from tapgo.catalog.models import Product; "
        "info = demo.seed(history_days=0); "
        "Product.objects.filter(name='Croissant').update(stock=5); "
        "print(info['table1'].code)"
    )
    code = django_print(env, seed)
    with _running(env, port):
        base = f"http://127.0.0.1:{port}"
        paying, leaving = Browser(base), Browser(base)

        url, pay_page = _order(paying, code, "Oat Latte")
        order_url, _page = paying.post(
            urllib.parse.urlsplit(url).path, {"decision": "approve"}, pay_page
        )
        # Paid only once the worker has delivered the sandbox's signed webhook to the server.
        _wait_for(paying, order_url, "paid", PAY_SECONDS)

        url, _pay_page = _order(leaving, code, "Croissant")
        _url, unpaid = leaving.get(urllib.parse.urlsplit(url).path)
        unpaid_order = re.search(r'href="(/m/harbour-cafe/orders/[a-z0-9]+/)"', unpaid)[1]
        assert _status(leaving, unpaid_order) == "pending_payment"
        _wait_for(leaving, unpaid_order, "expired", PAY_SECONDS + 15)

    check = (
        "import django; django.setup(); from tapgo.catalog.models import Product; "
        "print(Product.objects.get(name='Croissant').stock)"
    )
    stock = django_print(env, check)
    assert stock == "5"  # the expired order gave its croissant back
