"""Membership: a customer's card with a merchant (joining, the rotating member code for the
counter), levels over a rolling window, and the append-only points ledger (earn, redeem,
expire, adjust, reverse) whose balances are derived and cached like the money ledger.

What earns or reverses points (an order paid, a refund) is a flow's call (flows/), never
this domain reaching into ordering or payments."""
