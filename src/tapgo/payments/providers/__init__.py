"""Payment providers. Each verifies its own webhooks and turns them into ProviderEvents."""

from dataclasses import dataclass


class WebhookRejected(ValueError):
    """A webhook that failed verification or is malformed: answered 400, nothing changes."""


@dataclass(frozen=True)
class ProviderEvent:
    event_id: str
    kind: str  # "payment.succeeded" | "payment.failed"
    intent_public_id: str
    amount: int
    currency: str
    payload: dict
