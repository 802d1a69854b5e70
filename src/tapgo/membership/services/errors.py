"""Membership's errors: a clear message for the customer or staff, nothing changed."""


class MembershipError(ValueError):
    pass
