"""Fixtures of the coupons tests: a batch of the test café, in its terms."""

from datetime import timedelta

import pytest
from django.utils import timezone


@pytest.fixture
def make_batch(merchant):
    from tapgo.coupons import services as coupons

    def make(**terms):
        terms.setdefault("name", "¥5 off ¥30")
        terms.setdefault("kind", "threshold")
        terms.setdefault("value", 500)
        terms.setdefault("min_spend", 3000)
        terms.setdefault("valid_days", 7)
        terms.setdefault("valid_from", timezone.now() - timedelta(minutes=1))
        return coupons.batch_create(merchant=merchant, terms=coupons.BatchTerms(**terms))

    return make


@pytest.fixture
def batch(make_batch):
    return make_batch()
