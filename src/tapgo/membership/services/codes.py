"""The rotating member code shown on the card for the counter.

The code is the member number followed by a 6-digit one-time password (RFC 6238: HMAC-SHA1 of
the 60-second step, dynamically truncated) from the member's own secret, so a screenshot is
worthless a couple of minutes later. Staff type or scan it: the current step, one back (the
code just rotated) and one ahead (a phone's clock a little fast) are accepted, nothing older.
Spending at the counter records the step spent with a conditional UPDATE, so one code pays
once however many tills try it at once."""

import hashlib
import hmac
import re
import struct
import time

from django.utils.translation import gettext as _

from tapgo.membership.models import Member
from tapgo.membership.services.errors import MembershipError

CODE_STEP_SECONDS = 60
DIGITS = 6
TOLERANCE = (0, -1, 1)  # the current step first, then one back, then one ahead
_SEPARATORS = re.compile(r"[\s\-]+")


class CodeError(MembershipError):
    pass


def code_step(now: float | None = None) -> int:
    """The 60-second step a moment (a Unix time; now by default) falls in."""
    return int(time.time() if now is None else now) // CODE_STEP_SECONDS


def totp(secret_hex: str, step: int) -> str:
    """The 6-digit password of a step (RFC 6238 over RFC 4226's truncation)."""
    digest = hmac.new(bytes.fromhex(secret_hex), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**DIGITS:0{DIGITS}d}"


def member_code(member: Member, now: float | None = None) -> str:
    """What the card shows now: the member number and the step's password."""
    return f"{member.number}{totp(member.secret, code_step(now))}"


def _parse(text: str) -> tuple[int, str]:
    digits = _SEPARATORS.sub("", text or "")
    if not digits.isdigit() or not DIGITS < len(digits) <= DIGITS + 9:
        raise CodeError(_("That is not a member code: ask for the code on the customer's card."))
    return int(digits[:-DIGITS]), digits[-DIGITS:]


def code_find(*, merchant, text: str, now: float | None = None) -> tuple[Member, int]:
    """The member whose code this is, and the step it belongs to; CodeError when it is not a
    code of this merchant's or it is too old."""
    number, password = _parse(text)
    member = (
        Member.objects.for_merchant(merchant)
        .filter(number=number)
        .select_related("customer", "level")
        .first()
    )
    if member is not None:
        current = code_step(now)
        for delta in TOLERANCE:
            if hmac.compare_digest(totp(member.secret, current + delta), password):
                return member, current + delta
    raise CodeError(_("That code is wrong or has expired: ask for the code on the card now."))


def code_spend(*, merchant, text: str, now: float | None = None) -> Member:
    """Find the member by a fresh code and mark the code spent: a code spent once (or an
    older one of the same member) is refused, and of two tills trying one code at once the
    database lets one through."""
    member, step = code_find(merchant=merchant, text=text, now=now)
    return code_step_spend(member=member, step=step, now=now)


def code_step_spend(*, member: Member, step: int, now: float | None = None) -> Member:
    """Spend the step of a code found a moment ago (the counter carries the member and the
    step in a signed token rather than the code): refused when the step is more than one
    behind now, or when it (or a newer one) was spent already. One conditional UPDATE of
    the member's row, so of two tills spending one code at once one does."""
    code_step_fresh(member=member, step=step, now=now, spent=False)
    spent = Member.objects.filter(pk=member.pk, last_code_step__lt=step).update(last_code_step=step)
    if not spent:
        raise CodeError(_("That code was used already: ask for the new code on the card."))
    member.last_code_step = step
    return member


def code_step_fresh(*, member: Member, step: int, now: float | None = None, spent=True) -> None:
    """CodeError when the step is more than one behind now (or ahead of the tolerance), or,
    with `spent`, when the member's row says it (or a newer one) was spent already: a check
    before the work; `code_step_spend` decides."""
    if step - code_step(now) not in TOLERANCE:
        raise CodeError(_("That code has expired: ask for the code on the card now."))
    if spent and Member.objects.filter(pk=member.pk, last_code_step__gte=step).exists():
        raise CodeError(_("That code was used already: ask for the new code on the card."))
