from tapgo.payments.tests.conftest import books_balance  # noqa: F401 (an autouse fixture)
