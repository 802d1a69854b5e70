"""One-time email sign-in codes: right, wrong, expired, used, rate limited."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from tapgo.flows.customers import sign_in
from tapgo.identity import services
from tapgo.identity.models import Customer, LoginCode
from tapgo.identity.services import SignInError, login_code_send

EMAIL = "ann@example.test"


def code_from(message) -> str:
    subject_code = re.search(r"\b(\d{6})\b", message.subject)[1]
    assert subject_code in message.body
    return subject_code


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def send(mailoutbox, email=EMAIL) -> str:
    login_code_send(email=email)
    return code_from(mailoutbox[-1])


def test_the_code_is_mailed_and_only_its_hash_stored(mailoutbox, db):
    code = send(mailoutbox, "  Ann@Example.TEST ")
    message = mailoutbox[0]
    assert message.to == [EMAIL]
    assert "10 minutes" in message.body
    row = LoginCode.objects.get()
    assert row.email == EMAIL
    assert code not in row.code_hash
    lifetime = row.expires_at - row.created_at
    assert abs(lifetime - timedelta(minutes=services.CODE_MINUTES)) < timedelta(seconds=5)


def test_the_right_code_signs_in(mailoutbox, db):
    code = send(mailoutbox)
    account = sign_in(email="ANN@example.test", code=f" {code} ", guest=None)
    assert account.email == EMAIL
    assert not account.is_guest
    assert LoginCode.objects.get().used_at is not None
    # The next sign-in finds the same account.
    assert sign_in(email=EMAIL, code=send(mailoutbox), guest=None) == account
    assert Customer.objects.filter(email=EMAIL).count() == 1


def test_a_code_works_once(mailoutbox, db):
    code = send(mailoutbox)
    sign_in(email=EMAIL, code=code, guest=None)
    with pytest.raises(SignInError):
        sign_in(email=EMAIL, code=code, guest=None)


def test_a_wrong_code_counts_and_the_fifth_kills_it(mailoutbox, db):
    code = send(mailoutbox)
    for attempt in range(1, services.CODE_ATTEMPTS + 1):
        with pytest.raises(SignInError, match="not right"):
            sign_in(email=EMAIL, code=wrong(code), guest=None)
        assert LoginCode.objects.get().attempts == attempt

    with pytest.raises(SignInError, match="expired"):
        sign_in(email=EMAIL, code=code, guest=None)
    assert LoginCode.objects.get().used_at is None
    assert LoginCode.objects.get().attempts == services.CODE_ATTEMPTS
    assert not Customer.objects.filter(email=EMAIL).exists()


def test_four_wrong_then_the_right_one_still_signs_in(mailoutbox, db):
    code = send(mailoutbox)
    for _ in range(services.CODE_ATTEMPTS - 1):
        with pytest.raises(SignInError):
            sign_in(email=EMAIL, code=wrong(code), guest=None)
    assert sign_in(email=EMAIL, code=code, guest=None).email == EMAIL


def test_an_expired_code_is_refused(mailoutbox, db):
    code = send(mailoutbox)
    later = timezone.now() + timedelta(minutes=services.CODE_MINUTES, seconds=1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        with pytest.raises(SignInError, match="expired"):
            sign_in(email=EMAIL, code=code, guest=None)
    assert LoginCode.objects.get().used_at is None


def test_a_code_for_another_address_is_refused(mailoutbox, db):
    code = send(mailoutbox)
    send(mailoutbox, "bo@example.test")
    with pytest.raises(SignInError):
        sign_in(email="bo@example.test", code=code, guest=None)
    with pytest.raises(SignInError):
        sign_in(email="nobody@example.test", code=code, guest=None)


def test_only_the_newest_code_counts(mailoutbox, db):
    old = send(mailoutbox)
    new = send(mailoutbox)
    if old != new:
        with pytest.raises(SignInError):
            sign_in(email=EMAIL, code=old, guest=None)
    assert sign_in(email=EMAIL, code=new, guest=None).email == EMAIL


def test_five_codes_an_hour(mailoutbox, db):
    for _ in range(services.CODES_PER_HOUR):
        send(mailoutbox)
    with pytest.raises(SignInError, match="Too many"):
        login_code_send(email=EMAIL)
    with pytest.raises(SignInError):
        login_code_send(email=" ANN@example.test")
    assert len(mailoutbox) == services.CODES_PER_HOUR
    assert LoginCode.objects.count() == services.CODES_PER_HOUR

    # Another address is not affected, and an hour later this one may ask again.
    send(mailoutbox, "bo@example.test")
    later = timezone.now() + timedelta(hours=1, seconds=1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        code = send(mailoutbox)
        assert sign_in(email=EMAIL, code=code, guest=None).email == EMAIL


def test_guests_and_cookies(db):
    guest = services.customer_create_guest()
    assert guest.is_guest
    assert services.customer_from_public_id(guest.public_id) == guest
    assert services.customer_from_public_id("") is None
    assert services.customer_from_public_id(None) is None
    assert services.customer_from_public_id("nosuchcustomer") is None


def test_signing_in_as_a_guest_with_nothing_keeps_working(mailoutbox, customer):
    account = sign_in(email=EMAIL, code=send(mailoutbox), guest=customer)
    customer.refresh_from_db()
    assert customer.merged_into_id == account.pk
    # Signing in again with the same (merged) guest does not merge anything twice.
    again = sign_in(email=EMAIL, code=send(mailoutbox), guest=account)
    assert again == account


def test_staff_users(db):
    user = services.staff_user_create(email="Staff@Cafe.test", password="correct horse battery")
    assert user.email == "staff@cafe.test"
    assert user.check_password("correct horse battery")
    assert not user.check_password("wrong")
