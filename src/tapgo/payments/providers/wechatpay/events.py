"""Reading what WeChat sends: a verified notification, or the answer to a query, as a
ProviderEvent; the answer to a refund request as a RefundResult. Each raises Malformed for
what does not have the documented shape.
"""

import dataclasses
import json

from tapgo.payments import providers
from tapgo.payments.providers import ProviderEvent, RefundResult
from tapgo.payments.providers.wechatpay.api import CURRENCY
from tapgo.payments.providers.wechatpay.keys import Keys, Malformed, decrypt

# trade_state of a payment, as a notification or a query reports it.
TRADE_STATES = {
    "SUCCESS": providers.PAYMENT_SUCCEEDED,
    "REFUND": providers.PAYMENT_SUCCEEDED,  # paid, then (partly) refunded
    "CLOSED": providers.PAYMENT_FAILED,
    "PAYERROR": providers.PAYMENT_FAILED,
    "REVOKED": providers.PAYMENT_FAILED,
}  # NOTPAY and USERPAYING: not decided yet
REFUND_EVENTS = {
    "REFUND.SUCCESS": providers.REFUND_SUCCEEDED,
    "REFUND.ABNORMAL": providers.REFUND_FAILED,
    "REFUND.CLOSED": providers.REFUND_FAILED,
}
# The status in WeChat's answer to a refund request.
REFUND_STATUS = {
    "SUCCESS": "succeeded",
    "PROCESSING": "pending",
    "ABNORMAL": "failed",
    "CLOSED": "failed",
}


def _text(data: dict, key: str, limit: int = 64) -> str:
    value = data.get(key)
    if not (isinstance(value, str) and 0 < len(value) <= limit):
        raise Malformed(f"malformed {key}")
    return value


def _amount(data: dict, key: str) -> int:
    value = data.get(key)
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        raise Malformed(f"malformed {key}")
    return value


def _of_merchant(keys: Keys, data: dict) -> None:
    if _text(data, "mchid") != keys.mchid:
        raise Malformed("for another merchant id")


def transaction_event(
    keys: Keys, event_id: str, data: dict, *, unpaid: tuple[int, str] | None = None
) -> ProviderEvent | None:
    """A payment as a notification or a query describes it; None while undecided. WeChat
    gives the amount of a paid order only: `unpaid` stands in for it on a failed one."""
    _of_merchant(keys, data)
    out_trade_no = _text(data, "out_trade_no", 32)
    kind = TRADE_STATES.get(_text(data, "trade_state", 32))
    if kind is None:
        return None
    amount = data.get("amount")
    if isinstance(amount, dict) and "total" in amount:
        total, currency = _amount(amount, "total"), _text(amount, "currency", 3)
    elif kind == providers.PAYMENT_FAILED and unpaid is not None:
        total, currency = unpaid
    elif kind == providers.PAYMENT_FAILED:
        return None
    else:
        raise Malformed("malformed amount")
    transaction_id = data.get("transaction_id")
    return ProviderEvent(
        event_id,
        kind,
        out_trade_no,
        total,
        currency,
        data,
        provider_ref=transaction_id if isinstance(transaction_id, str) else "",
    )


def refund_event(keys: Keys, event_id: str, kind: str, data: dict) -> ProviderEvent:
    _of_merchant(keys, data)
    amount = data.get("amount")
    if not isinstance(amount, dict):
        raise Malformed("malformed amount")
    return ProviderEvent(
        event_id,
        kind,
        _text(data, "out_trade_no", 32),
        _amount(amount, "refund"),
        CURRENCY,  # a refund notification names no currency; every payment is in yuan
        data,
        refund_public_id=_text(data, "out_refund_no"),
        provider_ref=_text(data, "refund_id"),
    )


def notification_event(keys: Keys, body: bytes) -> ProviderEvent:
    """A verified notification's meaning. Raises Malformed."""
    try:
        envelope = json.loads(body)
    except ValueError:
        raise Malformed("not JSON") from None
    if not isinstance(envelope, dict):
        raise Malformed("not an object")
    event_id = _text(envelope, "id", 100)
    event_type = _text(envelope, "event_type")
    if envelope.get("resource_type") != "encrypt-resource":
        raise Malformed("unexpected resource type")
    data = decrypt(keys, envelope.get("resource"))
    payload = {"event_type": event_type, "summary": envelope.get("summary"), "resource": data}
    event = None
    if event_type.startswith("TRANSACTION."):
        event = transaction_event(keys, event_id, data)
    elif event_type in REFUND_EVENTS:
        event = refund_event(keys, event_id, REFUND_EVENTS[event_type], data)
    if event is None:
        return ProviderEvent(event_id, providers.IGNORED, "", 0, "", payload)
    return dataclasses.replace(event, payload=payload)


def refund_answer(data: dict, refund_public_id: str) -> RefundResult:
    """WeChat's answer to our request for refund `refund_public_id`: its status (pending when
    WeChat names one we do not know) and WeChat's refund id. Raises Malformed."""
    if _text(data, "out_refund_no") != refund_public_id:
        raise Malformed("an answer about another refund")
    status = REFUND_STATUS.get(_text(data, "status", 32), "pending")
    return RefundResult(status, _text(data, "refund_id"))
