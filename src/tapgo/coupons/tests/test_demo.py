"""The demo café's claimable offer: made once, when the business is new."""

import pytest
from django.test import override_settings

from tapgo import demo
from tapgo.coupons import services as coupons
from tapgo.coupons.models import Batch


@pytest.mark.django_db
def test_the_demo_cafe_has_one_claimable_offer(django_capture_on_commit_callbacks):
    with override_settings(PUBLIC_URL="http://example.test"):
        with django_capture_on_commit_callbacks(execute=True):
            info = demo.seed(history_days=0)
        demo.seed(history_days=0)
    batch = Batch.objects.get()
    assert (batch.merchant, batch.name, batch.value, batch.min_spend) == (
        info["cafe"].merchant,
        "¥5 off ¥30",
        500,
        3000,
    )
    assert coupons.batches_claimable(batch.merchant_id) == [batch]
