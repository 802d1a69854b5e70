"""The rotating member code: RFC 6238, one step of tolerance, spent once at the counter."""

import pytest

from tapgo.membership import services as membership
from tapgo.membership.services.codes import totp

pytestmark = pytest.mark.django_db
NOW = 1_800_000_000.0  # a fixed moment, at the start of a step
STEP = 60


def test_the_password_is_rfc_6238s():
    # RFC 6238, appendix B: the SHA-1 key "12345678901234567890" at T = 59 s gives 94287082
    # (8 digits); the 6 digits are its last six.
    secret = b"12345678901234567890".hex()
    assert totp(secret, 59 // 30) == "287082"
    assert totp(secret, 1111111109 // 30) == "081804"


def test_the_code_is_the_number_then_six_digits_and_changes_every_step(member):
    code = membership.member_code(member, NOW)
    assert code.startswith(str(member.number)) and len(code) == len(str(member.number)) + 6
    assert membership.member_code(member, NOW + 59) == code
    assert membership.member_code(member, NOW + STEP) != code


def test_the_current_code_one_step_back_and_one_ahead_are_accepted(merchant, member):
    code = membership.member_code(member, NOW)
    for moment in (NOW, NOW + STEP, NOW - STEP):
        found, _step = membership.code_find(merchant=merchant, text=code, now=moment)
        assert found == member
    spaced = f"{code[:-6]} {code[-6:-3]}-{code[-3:]}"
    assert membership.code_find(merchant=merchant, text=spaced, now=NOW)[0] == member


def test_a_rotated_member_code_from_more_than_one_step_ago_is_refused(merchant, member):
    code = membership.member_code(member, NOW)
    with pytest.raises(membership.CodeError):
        membership.code_find(merchant=merchant, text=code, now=NOW + 2 * STEP)
    with pytest.raises(membership.CodeError):
        membership.code_spend(merchant=merchant, text=code, now=NOW + 2 * STEP)


@pytest.mark.parametrize("text", ["", "12", "abc123456", "1" * 20, "9999123456"])
def test_not_a_code_is_refused_with_a_message(merchant, member, text):
    with pytest.raises(membership.CodeError):
        membership.code_find(merchant=merchant, text=text, now=NOW)


def test_another_merchants_code_is_not_found(other_merchant, member):
    code = membership.member_code(member, NOW)
    with pytest.raises(membership.CodeError):
        membership.code_find(merchant=other_merchant, text=code, now=NOW)


def test_a_code_is_spent_once_and_an_older_one_after_a_newer_never(merchant, member):
    older = membership.member_code(member, NOW)
    newer = membership.member_code(member, NOW + STEP)
    assert membership.code_spend(merchant=merchant, text=newer, now=NOW + STEP) == member
    with pytest.raises(membership.CodeError):
        membership.code_spend(merchant=merchant, text=newer, now=NOW + STEP)
    with pytest.raises(membership.CodeError):  # still within tolerance, but older than spent
        membership.code_spend(merchant=merchant, text=older, now=NOW + STEP)


def test_a_found_step_is_spent_once_and_only_while_fresh(merchant, member):
    """The counter carries the step of the code it found: spent once, never when more than
    one step behind now, never ahead of one step forward."""
    step = membership.code_find(merchant=merchant, text=membership.member_code(member, NOW),
                                now=NOW)[1]  # fmt: skip
    with pytest.raises(membership.CodeError, match="expired"):
        membership.code_step_spend(member=member, step=step, now=NOW + 2 * STEP)
    with pytest.raises(membership.CodeError, match="expired"):
        membership.code_step_spend(member=member, step=step + 2, now=NOW)
    assert membership.code_step_spend(member=member, step=step, now=NOW + STEP) == member
    with pytest.raises(membership.CodeError, match="used already"):
        membership.code_step_fresh(member=member, step=step, now=NOW)
    with pytest.raises(membership.CodeError, match="used already"):
        membership.code_step_spend(member=member, step=step, now=NOW)
