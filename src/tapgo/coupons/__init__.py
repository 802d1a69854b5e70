"""Coupons: batches (kind, validity, caps, what they apply to, who may claim), the coupons
issued from them, and their life: claimed, reserved by a placed order, used when it is paid,
released or returned. Caps are decided by the database (one conditional UPDATE, unique
constraints), as stock is.

Applying a coupon to an order (allocating its discount to the lines) and what a payment or
a refund does to it are flows' calls (flows/)."""
