"""The shell's pages from many threads at once, as `tapgo serve` runs them: many first-time
customers (no cookies) scanning, opening the app and a product, past the size of every
per-process cache the pages use. Seen under load before: HTTP 500 with "dictionary keys
changed during iteration" from the recently used list."""

import sys
import threading

import pytest
from django.db import connection
from django.test import Client

from tapgo.core.caches import ExpiringCache
from tapgo.miniapps.models import EntryCode
from tapgo.shell import front, page
from tapgo.shell import state as shell_state


@pytest.fixture
def small_caches(monkeypatch):
    """The shell's caches, small enough that this test goes past their size many times."""
    for module, name in ((page, "_recent"), (page, "_unread"), (front, "_app_states")):
        old = getattr(module, name)
        monkeypatch.setattr(module, name, ExpiringCache(f"{old.name}.small", size=8, seconds=60))
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_first_time_customers_scanning_at_once_get_no_server_error(app, product, small_caches):
    code = EntryCode.objects.filter(app=app, kind="table").first().code
    paths = [f"/s/{code}", f"/m/{app.slug}/", f"/m/{app.slug}/p/{product.public_id}/"]
    statuses: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def customer_after_customer(i: int) -> None:
        try:
            barrier.wait(30)
            for _n in range(12):
                client = Client(raise_request_exception=False)  # a new phone: no cookies
                for path in paths:
                    statuses.append(
                        client.get(path, HTTP_REFERER=f"http://testserver{path}").status_code
                    )
        except BaseException as exc:  # noqa: BLE001 (reported to the test)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=customer_after_customer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert len(statuses) == 8 * 12 * 3
    assert set(statuses) == {200}


def test_the_remembered_bits_hold_under_many_threads_past_their_size(small_caches):
    """The lru_cache'd helpers of the page's bits (each holds its own lock): called from many
    threads with more distinct arguments than they keep, each answers what it answers alone."""

    calls = [
        (page.url, lambda n: ("shell:app", f"app-{n}"), None),
        (page.share_endpoint, lambda n: (f"app-{n}", f"/m/app-{n}/"), None),
        (page.cart_button, lambda n: ("en", f"app-{n % 50}", n), None),
        (page.table_chip, lambda n: ("zh-hans" if n % 2 else "en", f"T{n}"), None),
        (page.recent_menu, lambda n: ("en", ((f"/m/app-{n}/", f"App {n}"),)), None),
        (page.inbox_link, lambda n: ("zh-hans" if n % 2 else "en", n), None),
        (shell_state._verified, lambda n: (f"not-signed-{n}",), None),
        (front._language, lambda n: (None, f"en;q=0.{n % 10}, zh-hans"), None),
    ]
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for function, args, check in calls:
                limit = function.cache_info().maxsize
                for n in range(i, limit + 300, 4):
                    answer = function(*args(n))
                    if check is None:
                        assert answer == function.__wrapped__(*args(n))
                    else:
                        assert check(answer, n)
        except BaseException as exc:  # noqa: BLE001 (reported to the test)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    for function, _args, _check in calls:
        assert function.cache_info().currsize <= function.cache_info().maxsize
