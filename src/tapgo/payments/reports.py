"""Settlement reports: a merchant's day of money, read from the ledger, and its settlement.

Every figure is a sum of ledger entries (never of orders or refunds), grouped by the business
day of its transaction in the store's time zone. Signs follow the books (ledger.py): a debit
is positive, a credit negative.

| column            | entries                                                         |
| ----------------- | --------------------------------------------------------------- |
| gross sales       | net sales + discounts: what was sold at its listed price        |
| discounts         | DISCOUNT debits to discounts (memo: the discounts orders were   |
|                   | paid with)                                                      |
| net sales         | CAPTURE, WALLET_PAYMENT and COUNTER_PAYMENT credits to held     |
|                   | (the money: gross − discounts = net, by construction)           |
| discounts returned| DISCOUNT_BACK credits to discounts, net of refunds that failed  |
|                   | (memo: refunds at listed price are refunds + this)              |
| tips              | credits to tips (captures) net of debits (tips refunded)        |
| refunds           | REFUND net of REFUND_FAILED, on the refunds account             |
| fees              | the platform's fee account, net of fees given back              |
| bonus given       | TOPUP and COUNTER_TOPUP debits to held                          |
| stored value sold | TOPUP and COUNTER_TOPUP debits to clearing / receivable         |
| stored value spent| WALLET_PAYMENT debits to wallets                                |
| counter cash      | COUNTER_TOPUP and COUNTER_PAYMENT debits to receivable, net of  |
|                   | refunds handed back at the counter                              |
| net payout        | net sales + tips − refunds − fees − bonus − counter cash        |

The memo accounts (discounts, gross_memo) carry no money: the payout and settlement leave them
alone. `orders()` gives the same sales columns for each order (or table share) of a day.

The net payout is also what the day moved on held, refunds and receivable together, so
settle_day() posts exactly the net into the settled account and refuses a day whose two
computations disagree (a kind of posting this report does not know about).
"""

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Min, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.merchants.services import merchant_store
from tapgo.payments import ledger
from tapgo.payments.models import AccountKind, LedgerEntry, LedgerTransaction, TxKind

log = logging.getLogger(__name__)

# A day can be settled once it has ended and this long has passed: a payment written just
# before midnight has committed by then.
SETTLE_GRACE = timedelta(minutes=10)
REPORT_DAYS = 30
SETTLED_ACCOUNTS = (AccountKind.HELD, AccountKind.REFUNDS, AccountKind.RECEIVABLE, AccountKind.TIPS)
SALE_KINDS = (TxKind.CAPTURE, TxKind.WALLET_PAYMENT, TxKind.COUNTER_PAYMENT)
TOPUP_KINDS = (TxKind.TOPUP, TxKind.COUNTER_TOPUP)


class SettlementError(ValueError):
    pass


@dataclass
class Day:
    """One business day of a merchant's money, in minor units of the merchant's currency."""

    day: date
    sales: int = 0  # net sales: the money
    discount: int = 0  # what discounts took off the sales (memo)
    discount_back: int = 0  # of it, what refunds gave back (memo)
    tips: int = 0
    refunds: int = 0
    fees: int = 0
    bonus: int = 0
    sold: int = 0
    spent: int = 0
    counter_cash: int = 0
    # What the day moved on held, refunds and receivable (debit positive): settled at once.
    moves: dict[str, int] = field(default_factory=dict)
    settled: int | None = None  # the net of this day's settlement, once posted
    closed: bool = False  # the day has ended (and the grace after it): it can be settled

    @property
    def gross(self) -> int:
        """Sales at their listed price: net sales and the discounts taken off them."""
        return self.sales + self.discount

    @property
    def net(self) -> int:
        """The payout: the money of the day (the memo's discounts are not money)."""
        return self.sales + self.tips - self.refunds - self.fees - self.bonus - self.counter_cash

    @property
    def has_movements(self) -> bool:
        return any(self.moves.values())


def _add(figures: Day, tx_kind: str, account_kind: str, total: int) -> None:
    if account_kind in SETTLED_ACCOUNTS:
        figures.moves[account_kind] = figures.moves.get(account_kind, 0) + total
    if account_kind == AccountKind.DISCOUNTS:  # memo: posted, or given back (and failed)
        if tx_kind == TxKind.DISCOUNT:
            figures.discount += total
        else:
            figures.discount_back -= total
    elif account_kind == AccountKind.HELD and tx_kind in SALE_KINDS:
        figures.sales -= total
    elif account_kind == AccountKind.TIPS:
        figures.tips -= total
    elif account_kind == AccountKind.HELD and tx_kind in TOPUP_KINDS:
        figures.bonus += total
    elif account_kind == AccountKind.REFUNDS:
        figures.refunds += total
    elif account_kind == AccountKind.FEES:
        figures.fees -= total
    elif account_kind == AccountKind.WALLET and tx_kind == TxKind.WALLET_PAYMENT:
        figures.spent += total
    if tx_kind in TOPUP_KINDS and account_kind in (AccountKind.CLEARING, AccountKind.RECEIVABLE):
        figures.sold += total
        if account_kind == AccountKind.RECEIVABLE:
            figures.counter_cash += total
    elif account_kind == AccountKind.RECEIVABLE and tx_kind in (
        TxKind.COUNTER_PAYMENT,
        TxKind.REFUND,
        TxKind.REFUND_FAILED,
    ):
        figures.counter_cash += total


def _start_of(day: date, tz) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def settlement_key(merchant, day: date) -> str:
    return f"settlement:{merchant.pk}:{day.isoformat()}"


def days(merchant, *, first: date, last: date, now: datetime | None = None) -> list[Day]:
    """Every business day from first to last (inclusive), oldest first: three queries."""
    tz = merchant_store(merchant).tz
    now = now or timezone.now()
    figures = {}
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        figures[day] = Day(day, closed=now >= _start_of(day + timedelta(days=1), tz) + SETTLE_GRACE)
    rows = (
        LedgerEntry.objects.filter(
            transaction__merchant=merchant,
            transaction__currency=merchant.currency,
            transaction__created_at__gte=_start_of(first, tz),
            transaction__created_at__lt=_start_of(last + timedelta(days=1), tz),
        )
        .exclude(transaction__kind=TxKind.SETTLEMENT)
        .annotate(day=TruncDate("transaction__created_at", tzinfo=tz))
        .values("day", "transaction__kind", "account__kind")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for row in rows:
        found = figures.get(row["day"])
        if found is not None:  # a row outside the range would be a time-zone bug: skip it
            _add(found, row["transaction__kind"], row["account__kind"], row["total"])
    keys = {settlement_key(merchant, day): day for day in figures}
    for key, amount in LedgerEntry.objects.filter(
        transaction__kind=TxKind.SETTLEMENT,
        transaction__key__in=list(keys),
        account__kind=AccountKind.SETTLED,
    ).values_list("transaction__key", "amount"):
        figures[keys[key]].settled = -amount
    return list(figures.values())


def today(merchant) -> date:
    return timezone.localtime(timezone.now(), merchant_store(merchant).tz).date()


def recent(merchant, *, count: int = REPORT_DAYS) -> list[Day]:
    """The last `count` business days, today included, newest first."""
    last = today(merchant)
    return list(reversed(days(merchant, first=last - timedelta(days=count - 1), last=last)))


SUMMED = (
    "sales",
    "discount",
    "discount_back",
    "tips",
    "refunds",
    "fees",
    "bonus",
    "sold",
    "spent",
    "counter_cash",
)


def total(figures: list[Day]) -> Day:
    """The columns summed over several days (the report's last row)."""
    summed = Day(figures[-1].day if figures else date.min)
    for one in figures:
        for name in SUMMED:
            setattr(summed, name, getattr(summed, name) + getattr(one, name))
    summed.settled = sum(one.settled or 0 for one in figures)
    return summed


@dataclass
class Sale:
    """One order's (or, for a table paid after eating, one share's) sales columns on a day:
    `purpose` and `purpose_id` say what it was for, as payments knows it."""

    purpose: str
    purpose_id: int
    sales: int = 0  # net: the money
    discount: int = 0
    discount_back: int = 0
    refunds: int = 0

    @property
    def gross(self) -> int:
        return self.sales + self.discount

    @property
    def net(self) -> int:
        return self.sales


def orders(merchant, *, day: date) -> list[Sale]:
    """Each order's gross, discount and net sales on one business day (and what its refunds
    gave back, with their share of the discount), from the ledger, by when they were posted:
    one query. Oldest first."""
    tz = merchant_store(merchant).tz
    rows = (
        LedgerEntry.objects.filter(
            transaction__merchant=merchant,
            transaction__currency=merchant.currency,
            transaction__created_at__gte=_start_of(day, tz),
            transaction__created_at__lt=_start_of(day + timedelta(days=1), tz),
        )
        .filter(
            Q(account__kind=AccountKind.DISCOUNTS)
            | Q(account__kind=AccountKind.HELD, transaction__kind__in=SALE_KINDS)
            | Q(account__kind=AccountKind.REFUNDS)
        )
        .values(
            "transaction__kind",
            "account__kind",
            "transaction__purpose",
            "transaction__purpose_id",
            "transaction__intent__purpose",
            "transaction__intent__purpose_id",
        )
        .annotate(total=Sum("amount"), first=Min("transaction_id"))
        .order_by()
    )
    found: dict[tuple[str, int], Sale] = {}
    first: dict[tuple[str, int], int] = {}
    for row in rows:
        purpose = row["transaction__purpose"] or row["transaction__intent__purpose"]
        purpose_id = row["transaction__purpose_id"] or row["transaction__intent__purpose_id"]
        if not purpose or purpose_id is None:
            continue
        key = (purpose, purpose_id)
        sale = found.setdefault(key, Sale(purpose, purpose_id))
        first[key] = min(first.get(key, row["first"]), row["first"])
        kind, total = row["account__kind"], row["total"]
        if kind == AccountKind.DISCOUNTS:
            if row["transaction__kind"] == TxKind.DISCOUNT:
                sale.discount += total
            else:
                sale.discount_back -= total
        elif kind == AccountKind.HELD:
            sale.sales -= total
        else:
            sale.refunds += total
    return [found[key] for key in sorted(found, key=first.__getitem__)]


def settle_day(*, merchant, day: date) -> LedgerTransaction:
    """Post the day's payout: its movements on held, refunds and receivable move into the
    settled account (Dr held, Cr refunds, Cr receivable, Cr settled the net). Posting the same
    day again returns the transaction already posted."""
    key = settlement_key(merchant, day)
    existing = LedgerTransaction.objects.filter(key=key).first()
    if existing is not None:
        return existing
    (figures,) = days(merchant, first=day, last=day)
    if not figures.closed:
        raise SettlementError(_("Only a day that has ended can be settled."))
    if not figures.has_movements:
        raise SettlementError(_("Nothing happened on this day: there is nothing to settle."))
    moved = sum(figures.moves.values())
    if moved != -figures.net:
        log.error(
            "settlement of merchant %s on %s refused: net %s, accounts moved %s",
            merchant.pk,
            day,
            figures.net,
            -moved,
        )
        raise SettlementError(_("This day's figures do not reconcile; nothing was settled."))
    currency = merchant.currency
    entries = [
        (ledger.account(kind, currency=currency, merchant=merchant), -amount)
        for kind, amount in sorted(figures.moves.items())
        if amount
    ]
    entries.append(
        (ledger.account(AccountKind.SETTLED, currency=currency, merchant=merchant), moved)
    )
    with transaction.atomic():
        tx = ledger.post(
            kind=TxKind.SETTLEMENT,
            merchant=merchant,
            currency=currency,
            key=key,
            entries=entries,
            memo=f"settlement of {day.isoformat()}",
        )
    return tx or LedgerTransaction.objects.get(key=key)
