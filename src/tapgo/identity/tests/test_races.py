"""Sign-in codes under concurrency: parallel guesses cannot get past the attempt limit."""

import re

import pytest

from tapgo.flows.customers import sign_in
from tapgo.identity import services
from tapgo.identity.models import LoginCode
from tapgo.identity.services import SignInError, login_code_send

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]


def test_parallel_wrong_guesses_count_to_the_limit_and_no_further(concurrently, mailoutbox):
    login_code_send(email="ann@example.test")
    code = re.search(r"\b(\d{6})\b", mailoutbox[-1].subject)[1]
    guesses = [f"{(int(code) + 1 + i) % 1_000_000:06d}" for i in range(20)]

    def guess(i):
        return sign_in(email="ann@example.test", code=guesses[i], guest=None)

    results = concurrently(guess, 20)

    assert all(isinstance(r, SignInError) for r in results), results
    compared = [r for r in results if "not right" in str(r)]
    assert len(compared) == services.CODE_ATTEMPTS  # only five guesses were ever compared
    assert LoginCode.objects.get().attempts == services.CODE_ATTEMPTS
    with pytest.raises(SignInError, match="expired"):
        sign_in(email="ann@example.test", code=code, guest=None)
