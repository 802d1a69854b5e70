"""What the coupons services share: their error (its message is for the customer or staff)."""


class CouponError(ValueError):
    pass
