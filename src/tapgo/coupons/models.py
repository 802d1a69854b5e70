"""The coupons domain's tables."""
