"""What the coupons services share: their error (its message is for the customer or staff)."""


class CouponError(ValueError):
    pass


class NotAMember(CouponError):
    """The offer is for members and the customer has not joined the card (the app offers
    the join button with the message)."""
