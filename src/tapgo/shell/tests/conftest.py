from tapgo.coupons.tests.conftest import make_batch  # noqa: F401 (a fixture)
