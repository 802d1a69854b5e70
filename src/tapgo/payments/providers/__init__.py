"""Payment providers behind one interface.

A provider starts a payment for an intent, verifies its own webhooks and turns them into
ProviderEvents, answers a query about an intent (for reconciliation), and refunds. The rules
(what an event does to an intent, the ledger) live in payments/services/, and what it does
to an order in flows/payment_events.py, never here.

Each provider module exposes a `PROVIDER` object with this interface; `get(name)` finds it.
"""

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise  # a str, or a lazy translation of one


class WebhookRejected(ValueError):
    """A webhook that failed verification or is malformed: answered 400, nothing changes."""


class ProviderError(RuntimeError):
    """The provider could not be reached or refused the request; safe to try again."""


# What a verified event means for us.
PAYMENT_SUCCEEDED = "payment.succeeded"
PAYMENT_FAILED = "payment.failed"
REFUND_SUCCEEDED = "refund.succeeded"
REFUND_FAILED = "refund.failed"
IGNORED = "ignored"  # verified, but nothing we act on: acknowledged and logged


@dataclass(frozen=True)
class ProviderEvent:
    event_id: str
    kind: str
    intent_public_id: str  # our intent's public id, as we gave it to the provider
    amount: int
    currency: str
    payload: dict = field(default_factory=dict, compare=False)
    refund_public_id: str = ""  # for refund events: our refund's public id
    provider_ref: str = ""  # the provider's own id for the payment or refund


@dataclass(frozen=True)
class Connection:
    """What a successful connection test learnt: whether real money moves (None: unknown)."""

    live: bool | None = None


@dataclass(frozen=True)
class RefundResult:
    status: str  # "pending", "succeeded" or "failed"
    provider_ref: str = ""


class Provider(Protocol):
    name: str
    label: "StrOrPromise"
    # The secret and public settings a merchant enters in the console: (key, label).
    secret_fields: tuple[tuple[str, "StrOrPromise"], ...]
    config_fields: tuple[tuple[str, "StrOrPromise"], ...]
    # The currencies it takes; empty for any.
    currencies: tuple[str, ...]
    # How a customer pays with it, to finish "Customers pay …" ("by card through Stripe").
    pays_with: "StrOrPromise"

    def check_credentials(self, config: dict, secrets: dict) -> None:
        """Refuse settings that cannot work (raise credentials.CredentialsError)."""

    def test_connection(self, config: dict, secrets: dict) -> Connection:
        """Make a harmless authenticated call with these settings (nothing is paid or
        changed at the provider). Raise credentials.CredentialsError when the provider
        refuses them, ProviderError when it cannot be reached."""

    def create(self, intent, *, account, return_url: str) -> tuple[str, dict]:
        """Start the payment; returns (provider_ref, what the customer's page needs)."""

    def verify_webhook(self, body: bytes, headers, *, account) -> ProviderEvent:
        """Check the signature before reading anything; raise WebhookRejected if it fails."""

    def query(self, intent, *, account) -> ProviderEvent | None:
        """Ask the provider how the payment stands; an event when it has settled."""

    def refund(self, refund, *, account) -> RefundResult: ...

    def cancel(self, intent, *, account) -> None: ...


@cache
def _registry() -> dict[str, Provider]:
    # The providers import this module (their interface) and payments' services: loaded
    # when first asked for, not with the package.
    from tapgo.payments.providers import sandbox, wechatpay  # noqa: I001 (see above)
    from tapgo.payments.providers import stripe as stripe_provider  # (see above)

    return {p.NAME: p.PROVIDER for p in (sandbox, stripe_provider, wechatpay)}


def get(name: str) -> Provider | None:
    return _registry().get(name)


def all_providers() -> list[Provider]:
    """Every installed provider, in the registry's order."""
    return list(_registry().values())


WALLET = "wallet"  # stored value: not a provider; it moves at once, inside our own ledger
COUNTER = "counter"  # taken by staff at the counter (cash, the shop's own terminal): at once
