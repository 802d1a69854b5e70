"""WeChatPayProvider, the payments registry's provider "wechatpay" (PROVIDER): its settings,
starting a payment, notifications, queries, refunds and closing an order."""

import logging
from types import SimpleNamespace
from urllib.parse import quote

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tapgo.core import links
from tapgo.payments import credentials
from tapgo.payments.providers import (
    Connection,
    ProviderError,
    ProviderEvent,
    RefundResult,
    WebhookRejected,
)
from tapgo.payments.providers.wechatpay.api import CURRENCY, WeChatPayError, call
from tapgo.payments.providers.wechatpay.events import (
    notification_event,
    refund_answer,
    transaction_event,
)
from tapgo.payments.providers.wechatpay.keys import (
    NAME,
    BadSignature,
    ConfigError,
    Keys,
    Malformed,
    verify_signature,
)
from tapgo.payments.services.intents import PaymentError

log = logging.getLogger(__name__)

TOLERANCE_SECONDS = 300
# Refund requests WeChat refused for good (no refund exists; asking again cannot help).
REFUND_REFUSED = {"PARAM_ERROR", "INVALID_REQUEST", "RESOURCE_NOT_EXISTS", "USER_ACCOUNT_ABNORMAL"}
# The order number a connection test asks about: no order has it, so WeChat's answer is "no
# such order" once it has taken the merchant's signature, and an error about the settings
# when it has not. Nothing is created or changed.
PROBE_ORDER = "tapgo-connection-test"


class WeChatPayProvider:
    name = NAME
    currencies = ("CNY",)
    label = gettext_lazy("WeChat Pay")
    pays_with = gettext_lazy("with WeChat Pay")
    config_fields = (
        ("mchid", gettext_lazy("Merchant ID (mchid)")),
        ("appid", gettext_lazy("AppID bound to the merchant ID")),
        ("merchant_serial", gettext_lazy("Merchant API certificate serial number")),
        ("public_key_id", gettext_lazy("WeChat Pay public key ID")),
        ("public_key", gettext_lazy("WeChat Pay public key (PEM)")),
    )
    secret_fields = (
        ("private_key", gettext_lazy("Merchant API private key (apiclient_key.pem)")),
        ("apiv3_key", gettext_lazy("APIv3 key")),
    )

    def check_credentials(self, config: dict, secrets: dict) -> None:
        """Load every key now, so a broken one is refused when it is entered."""
        probe = SimpleNamespace(config=config, secrets=credentials.encrypt(secrets), public_id="")
        try:
            Keys(probe).check()
        except ConfigError as exc:
            raise credentials.CredentialsError(
                _("These WeChat Pay settings cannot work: %(problem)s.") % {"problem": exc}
            ) from None

    def test_connection(self, config: dict, secrets: dict) -> Connection:
        """Query an order that does not exist: harmless, and answered "no such order" only to
        a request signed with the merchant's key and certificate serial."""
        self.check_credentials(config, secrets)
        probe = SimpleNamespace(config=config, secrets=credentials.encrypt(secrets), public_id="")
        keys = Keys(probe)
        path = f"/v3/pay/transactions/out-trade-no/{PROBE_ORDER}?mchid={quote(keys.mchid, safe='')}"
        try:
            call(keys, "GET", path)
        except WeChatPayError as exc:
            if exc.code == "ORDER_NOT_EXIST":
                return Connection(live=True)
            if exc.status >= 500:
                raise
            raise credentials.CredentialsError(
                _("WeChat Pay refused these settings: %(code)s %(message)s")
                % {"code": exc.code or exc.status, "message": exc.message}
            ) from None
        return Connection(live=True)  # an order of that number exists: the request was taken

    def create(self, intent, *, account, return_url: str) -> tuple[str, dict]:
        """Check the settings and send the customer to our page, which places the order with
        WeChat (it needs the customer's IP address; see the package's docstring)."""
        if intent.currency != CURRENCY:
            raise PaymentError(_("WeChat Pay takes payments in Chinese yuan only."))
        try:
            Keys(account).check()
        except ConfigError as exc:
            log.error("WeChat Pay of merchant %s is not set up: %s", intent.merchant_id, exc)
            raise ProviderError(f"WeChat Pay is not set up: {exc}") from None
        return intent.public_id, {"url": links.pay_page(NAME, intent.public_id)}

    def verify_webhook(self, body: bytes, headers, *, account) -> ProviderEvent:
        try:
            keys = Keys(account)
            verify_signature(keys, headers, body, window=TOLERANCE_SECONDS)
            return notification_event(keys, body)
        except ConfigError as exc:
            log.error("WeChat Pay notification for a broken account: %s", exc)
            raise WebhookRejected(f"account not set up: {exc}") from None
        except (BadSignature, Malformed) as exc:
            raise WebhookRejected(str(exc)) from None

    def query(self, intent, *, account) -> ProviderEvent | None:
        try:
            keys = Keys(account)
            path = (
                f"/v3/pay/transactions/out-trade-no/{quote(intent.public_id, safe='')}"
                f"?mchid={quote(keys.mchid, safe='')}"
            )
            data = call(keys, "GET", path)
            event = transaction_event(
                keys, f"query:{intent.public_id}", data, unpaid=(intent.amount, intent.currency)
            )
        except ConfigError as exc:
            raise ProviderError(f"WeChat Pay is not set up: {exc}") from None
        except WeChatPayError as exc:
            if exc.code == "ORDER_NOT_EXIST":
                return None  # the customer never opened WeChat's page: nothing to settle
            raise
        except Malformed as exc:
            raise ProviderError(f"WeChat Pay's answer is malformed: {exc}") from None
        if event is not None and event.intent_public_id != intent.public_id:
            raise ProviderError("WeChat Pay answered about another order")
        return event

    def refund(self, refund, *, account) -> RefundResult:
        """Ask WeChat to pay a refund; its out_refund_no (the refund's public id) makes asking
        again safe. The outcome usually follows as a notification."""
        intent = refund.intent
        try:
            keys = Keys(account)
            payload = {
                "out_trade_no": intent.public_id,
                "out_refund_no": refund.public_id,
                "notify_url": keys.notify_url,
                "amount": {"refund": refund.amount, "total": intent.amount, "currency": CURRENCY},
            }
            if refund.reason:
                payload["reason"] = refund.reason[:80]
            data = call(keys, "POST", "/v3/refund/domestic/refunds", payload)
            return refund_answer(data, refund.public_id)
        except ConfigError as exc:
            raise ProviderError(f"WeChat Pay is not set up: {exc}") from None
        except WeChatPayError as exc:
            if exc.code in REFUND_REFUSED:
                log.warning("WeChat Pay refused refund %s: %s", refund.public_id, exc)
                return RefundResult("failed")
            raise
        except Malformed as exc:
            raise ProviderError(f"WeChat Pay's answer is malformed: {exc}") from None

    def cancel(self, intent, *, account) -> None:
        """Close the order at WeChat, so the customer cannot pay it any more."""
        try:
            keys = Keys(account)
            path = f"/v3/pay/transactions/out-trade-no/{quote(intent.public_id, safe='')}/close"
            call(keys, "POST", path, {"mchid": keys.mchid})
        except ConfigError as exc:
            raise ProviderError(f"WeChat Pay is not set up: {exc}") from None
        except WeChatPayError as exc:
            # Never placed, already closed, or paid (its notification captures the money,
            # which is then refunded as a surplus): nothing left to close.
            if exc.code not in ("ORDER_NOT_EXIST", "ORDER_CLOSED", "ORDERPAID"):
                raise


PROVIDER = WeChatPayProvider()
