from tapgo.coupons.tests.conftest import make_batch  # noqa: F401 (a fixture)
from tapgo.payments.tests.conftest import books_balance  # noqa: F401 (an autouse fixture)
