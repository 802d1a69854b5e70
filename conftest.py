"""Fixtures shared by every test: a café with a published app, a menu and table codes."""

import os

import pytest

# `localstripe`: a fake Stripe on loopback; `push_endpoint`: a Web Push service on loopback;
# `process_env`: the environment of real `tapgo` processes.
pytest_plugins = ["tests.localstripe_server", "tests.push_endpoint", "tests.processes"]


def pytest_configure(config):
    # pytest-django has loaded the settings by now (environment variables set here would
    # come too late).
    from django.conf import settings
    from django.core.signals import setting_changed

    # Background tasks run at once, in the test (set a live server to see them over HTTP).
    # A module that declares tasks may have been imported already (a task's backend is looked
    # up when it is declared): announce the change as override_settings does, so Django's
    # task backends start again from the new setting.
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    setting_changed.send(sender=type(settings), setting="TASKS", value=settings.TASKS, enter=True)
    # The sandbox provider's webhooks go nowhere unless a test points them at a live server.
    settings.SANDBOX_WEBHOOK_BASE_URL = "http://127.0.0.1:9"

    # The SQLite test database is a file under var/ (race tests need a shared one).
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)

    # Parallel workers (pytest-xdist) each have their own database (pytest-django names it
    # per worker) and, on Redis, their own keys.
    cache = settings.CACHES["default"]
    if cache["BACKEND"].endswith(".RedisCache"):
        run = os.environ.get("TAPGO_TEST_DATABASE_NAME", "test")
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        cache["BACKEND"] = "tests.worker_cache.WorkerRedisCache"
        cache["KEY_PREFIX"] = f"{run}-{worker}"


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Argon2 costs ~0.2 s a hash by design; tests that make users need no such cost.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _default_language():
    """Each test ends in the default language: a request with a language cookie leaves its
    language active in the thread (LocaleMiddleware does not reset it)."""
    yield
    from django.utils import translation

    translation.activate("en")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (on Redis too, where it outlives the test), and
    with every per-process expiring cache empty (core/caches.py)."""
    from django.core.cache import cache

    from tapgo.core import caches

    def clear():
        cache.clear()
        for each in list(caches.ALL.values()):
            each.clear()

    clear()
    yield
    clear()


@pytest.fixture
def mailoutbox(db, mailoutbox):
    """pytest-django's outbox, taken after the database is set up.

    Django's test case setup (behind `db`) replaces django.core.mail.outbox with a new list,
    so an outbox fixture that happened to run before `db` would stay empty forever.
    """
    from django.core import mail

    return mail.outbox


@pytest.fixture
def owner(db):
    from tapgo.identity.services import staff_user_create

    return staff_user_create(email="owner@cafe.test", password="correct horse battery")


@pytest.fixture
def merchant(owner):
    from tapgo.merchants.services import merchant_create

    return merchant_create(owner=owner, name="Test Café", time_zone="Asia/Shanghai")


@pytest.fixture
def app(merchant):
    from tapgo.flows import listings
    from tapgo.miniapps import services

    app = listings.app_create(merchant=merchant, name="Test Café", slug="test-cafe")
    listings.app_set_published(app=app, published=True)
    services.table_codes_create(app=app, labels=["1", "2", "3"])
    return app


@pytest.fixture
def category(merchant):
    from tapgo.catalog.services import category_create

    return category_create(merchant=merchant, name="Coffee")


@pytest.fixture
def product(merchant, category):
    from tapgo.flows.listings import product_create

    return product_create(merchant=merchant, category=category, name="Latte", price=2600, stock=20)


@pytest.fixture
def sized_product(merchant, category):
    from tapgo.catalog.services import VariantInput
    from tapgo.flows.listings import product_create

    return product_create(
        merchant=merchant,
        category=category,
        name="Americano",
        price=1800,
        variants=[VariantInput("Regular", 1800, 5), VariantInput("Large", 2200, 5)],
    )


@pytest.fixture
def customer(db):
    from tapgo.identity.services import customer_create_guest

    return customer_create_guest()


@pytest.fixture
def other_merchant(db):
    """A second business, so tenancy can be tried."""
    from tapgo.catalog.services import category_create
    from tapgo.flows.listings import app_create, app_set_published, product_create
    from tapgo.identity.services import staff_user_create
    from tapgo.merchants.services import merchant_create
    from tapgo.miniapps import services

    other_owner = staff_user_create(email="owner@bakery.test", password="correct horse battery")
    other = merchant_create(owner=other_owner, name="Bakery")
    other_app = app_create(merchant=other, name="Bakery", slug="bakery")
    app_set_published(app=other_app, published=True)
    services.table_codes_create(app=other_app, labels=["1"])
    cat = category_create(merchant=other, name="Bread")
    product_create(merchant=other, category=cat, name="Sourdough", price=3800)
    return other


@pytest.fixture
def order(customer, app, product):
    """A pickup order for two lattes, waiting for payment."""
    from tapgo.ordering.services import cart_add, order_place

    cart_add(customer=customer, app=app, product_public_id=product.public_id, quantity=2)
    return order_place(
        customer=customer, app=app, checkout_key="k-order", fulfilment="pickup", pickup_name="Ann"
    )


@pytest.fixture
def concurrently():
    """Run fn(i) for i in range(n) in n threads that start together (a barrier).

    Each thread opens its own database connection before the barrier and closes it at the
    end. Returns what each call returned, or the exception it raised.
    """
    import threading

    from django.db import connection

    def run(fn, n: int, *, timeout: float = 120.0) -> list:
        barrier = threading.Barrier(n)
        results: list = [None] * n

        def worker(i: int) -> None:
            try:
                connection.ensure_connection()
                barrier.wait(timeout)
                results[i] = fn(i)
            except BaseException as exc:  # noqa: BLE001 (reported to the test)
                results[i] = exc
            finally:
                connection.close()

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout)
        assert not any(thread.is_alive() for thread in threads), "a racing thread hung"
        return results

    return run
