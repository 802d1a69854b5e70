"""WeChat Pay API v3 in public-key mode, on `cryptography` and urllib.

How a payment goes:

1. `create` checks the merchant's keys and sends the customer to our page
   (`payments:wechatpay_page`); nothing goes to WeChat yet.
2. That page places the order with WeChat (H5, `h5_link`) using the customer's own IP
   address, which WeChat compares with the one that pays, and links to the h5_url it answers.
   The link lasts five minutes, so every visit asks for a fresh one; WeChat knows the order by
   its out_trade_no, our intent's public id. H5 payments do not open inside WeChat's own
   browser: a page that knows the customer's openid uses JSAPI there (`jsapi_pay_params`).
3. Only WeChat's signed, encrypted notification (or our query, when it is late) moves the
   intent; refunds go out with the refund's public id as out_refund_no and settle by
   notification too.

Requests are signed with the merchant's API private key (``Authorization:
WECHATPAY2-SHA256-RSA2048 …``); answers and notifications are verified with the WeChat Pay
public key, whose id must be the ``Wechatpay-Serial``; a notification's resource is
AES-256-GCM encrypted with the APIv3 key. Why not the `wechatpayv3` library:
docs/decisions/0004-ledger.md. settings.WECHATPAY_API_BASE points the API elsewhere (a fake
on loopback in the tests).
"""

import base64
import binascii
import dataclasses
import http.client
import json
import logging
import re
import secrets
import time
import urllib.error
import urllib.request
from functools import cached_property
from types import SimpleNamespace
from urllib.parse import quote

from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tapgo.core import links
from tapgo.core.urls import absolute_url
from tapgo.payments import credentials, providers
from tapgo.payments.models import Purpose
from tapgo.payments.providers import ProviderError, ProviderEvent, RefundResult, WebhookRejected
from tapgo.payments.services.intents import PaymentError, provider_account

log = logging.getLogger(__name__)

NAME = "wechatpay"
SIG_TYPE = "WECHATPAY2-SHA256-RSA2048"
CURRENCY = "CNY"  # WeChat Pay's domestic API takes yuan (in fen) only
TOLERANCE_SECONDS = 300
TIMEOUT_SECONDS = 15
MAX_ANSWER_BYTES = 1024 * 1024

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
# Refund requests WeChat refused for good (no refund exists; asking again cannot help).
REFUND_REFUSED = {"PARAM_ERROR", "INVALID_REQUEST", "RESOURCE_NOT_EXISTS", "USER_ACCOUNT_ABNORMAL"}
# The ids that go into the Authorization header, between quotes.
ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class ConfigError(Exception):
    """The merchant's WeChat Pay settings are missing or broken."""


class BadSignature(ValueError):
    """An answer or a notification whose signature does not hold."""


class Malformed(ValueError):
    """A signed message that does not have the documented shape."""


class WeChatPayError(ProviderError):
    """WeChat Pay answered a request with an error (4xx/5xx and its code)."""

    def __init__(self, status: int, code: str = "", message: str = ""):
        super().__init__(f"WeChat Pay answered {status} {code}: {message}"[:500])
        self.status, self.code, self.message = status, code, message


# --- the merchant's keys -------------------------------------------------------------------


def _der(text: str, what: str) -> bytes:
    """The DER inside a PEM, however it was pasted: a one-line form field drops the line
    breaks, and WeChat shows its public key as bare base64 too."""
    body = re.sub(r"-----(BEGIN|END)[A-Z ]*-----", "", text or "")
    try:
        der = base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{what} is not a PEM key") from None
    if not der:
        raise ConfigError(f"{what} is not set")
    return der


class Keys:
    """A merchant's WeChat Pay settings, each checked when first used (raises ConfigError)."""

    def __init__(self, account):
        if account is None:
            raise ConfigError("no WeChat Pay account")
        try:
            self._secrets = credentials.secrets_of(account)
        except credentials.CredentialsError as exc:
            raise ConfigError(str(exc)) from None
        self._config = account.config if isinstance(account.config, dict) else {}
        self.account = account

    def _id(self, key: str) -> str:
        value = self._config.get(key)
        if not (isinstance(value, str) and ID.fullmatch(value)):
            raise ConfigError(f"{key} is missing or not an id")
        return value

    @cached_property
    def mchid(self) -> str:
        return self._id("mchid")

    @cached_property
    def appid(self) -> str:
        return self._id("appid")

    @cached_property
    def merchant_serial(self) -> str:
        return self._id("merchant_serial")

    @cached_property
    def public_key_id(self) -> str:
        return self._id("public_key_id")

    @cached_property
    def private_key(self) -> rsa.RSAPrivateKey:
        der = _der(self._secrets.get("private_key", ""), "the merchant API private key")
        try:
            key = serialization.load_der_private_key(der, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise ConfigError("the merchant API private key cannot be read") from None
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
            raise ConfigError("the merchant API private key is not an RSA key of 2048 bits")
        return key

    @cached_property
    def public_key(self) -> rsa.RSAPublicKey:
        der = _der(self._config.get("public_key", ""), "the WeChat Pay public key")
        try:
            key = serialization.load_der_public_key(der)
        except (ValueError, UnsupportedAlgorithm):
            raise ConfigError("the WeChat Pay public key cannot be read") from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise ConfigError("the WeChat Pay public key is not an RSA key")
        return key

    @cached_property
    def aead(self) -> AESGCM:
        key = self._secrets.get("apiv3_key", "").encode()
        if len(key) != 32:
            raise ConfigError("the APIv3 key is not 32 bytes")
        return AESGCM(key)

    @cached_property
    def notify_url(self) -> str:
        return absolute_url("payments:account_webhook", NAME, self.account.public_id)

    def check(self) -> None:
        """Read every setting now (raises ConfigError for the first that is wrong)."""
        for name in ("mchid", "appid", "merchant_serial", "public_key_id"):
            getattr(self, name)
        self.private_key, self.public_key, self.aead  # noqa: B018 (each property checks)

    def sign(self, message: bytes) -> str:
        signature = self.private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()


# --- signatures ----------------------------------------------------------------------------


def authorization(keys: Keys, method: str, path: str, body: bytes) -> str:
    """The Authorization header of a request: RSA-SHA256 over method, path, time, nonce, body."""
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16).upper()
    signature = keys.sign(f"{method}\n{path}\n{timestamp}\n{nonce}\n".encode() + body + b"\n")
    return (
        f'{SIG_TYPE} mchid="{keys.mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{keys.merchant_serial}"'
    )


def verify_signature(keys: Keys, headers, body: bytes, *, window: int | None) -> None:
    """Check the Wechatpay-* headers of an answer or a notification over the raw body, before
    anything is read from it. `window`: seconds the timestamp may be off (None: unchecked)."""
    timestamp = headers.get("Wechatpay-Timestamp") or ""
    nonce = headers.get("Wechatpay-Nonce") or ""
    signature = headers.get("Wechatpay-Signature") or ""
    serial = headers.get("Wechatpay-Serial") or ""
    kind = headers.get("Wechatpay-Signature-Type") or SIG_TYPE
    if kind != SIG_TYPE:
        raise BadSignature("unsupported signature type")
    if serial != keys.public_key_id:
        raise BadSignature("unknown Wechatpay-Serial")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12 and nonce):
        raise BadSignature("missing or malformed Wechatpay-* headers")
    if window is not None and abs(time.time() - int(timestamp)) > window:
        raise BadSignature("stale timestamp")
    public_key = keys.public_key  # ConfigError when it is broken: not the sender's fault
    try:
        public_key.verify(
            base64.b64decode(signature, validate=True),
            f"{timestamp}\n{nonce}\n".encode(errors="replace") + body + b"\n",
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (InvalidSignature, binascii.Error, ValueError):
        raise BadSignature("bad signature") from None


def decrypt(keys: Keys, resource) -> dict:
    """A notification's resource, decrypted with the APIv3 key (AEAD_AES_256_GCM)."""
    if not isinstance(resource, dict) or resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise Malformed("unsupported resource")
    nonce, data, ciphertext = (resource.get(k) for k in ("nonce", "associated_data", "ciphertext"))
    if not (isinstance(nonce, str) and nonce and isinstance(ciphertext, str)):
        raise Malformed("malformed resource")
    if not isinstance(data, str):
        data = ""
    aead = keys.aead
    try:
        plain = aead.decrypt(
            nonce.encode(), base64.b64decode(ciphertext, validate=True), data.encode()
        )
        found = json.loads(plain)
    except (InvalidTag, binascii.Error, ValueError):
        raise Malformed("resource cannot be decrypted") from None
    if not isinstance(found, dict):
        raise Malformed("malformed resource")
    return found


# --- requests ------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # WeChat Pay does not redirect; a redirect is answered as an error


_opener = urllib.request.build_opener(_NoRedirect)


def call(keys: Keys, method: str, path: str, payload: dict | None = None) -> dict:
    """Send a signed request; the verified JSON answer ({} for 204). Raises WeChatPayError
    for an error answer, ProviderError when unreachable or the answer is not verified."""
    body = b""
    if payload is not None:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    request = urllib.request.Request(  # noqa: S310 (an https URL from settings)
        settings.WECHATPAY_API_BASE + path,
        data=body if payload is not None else None,
        method=method,
        headers={
            "Authorization": authorization(keys, method, path, body),
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Wechatpay-Serial": keys.public_key_id,
            "User-Agent": "tapgo",
        },
    )
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            headers, text = response.headers, response.read(MAX_ANSWER_BYTES)
    except urllib.error.HTTPError as exc:
        raise _error(exc) from None
    except (OSError, http.client.HTTPException) as exc:  # URLError is an OSError
        raise ProviderError(f"WeChat Pay did not answer: {exc}") from None
    try:
        verify_signature(keys, headers, text, window=None)
    except BadSignature as exc:
        raise ProviderError(f"WeChat Pay's answer is not verified: {exc}") from None
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ProviderError("WeChat Pay answered something that is not a JSON object")
    return data


def _error(exc: urllib.error.HTTPError) -> WeChatPayError:
    try:
        data = json.loads(exc.read(64 * 1024) or b"{}")
    except (OSError, http.client.HTTPException, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    code, message = data.get("code"), data.get("message")
    return WeChatPayError(
        exc.code,
        code if isinstance(code, str) else "",
        message if isinstance(message, str) else "",
    )


# --- reading what WeChat sends -------------------------------------------------------------


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


# --- paying --------------------------------------------------------------------------------


def _description(intent) -> str:
    """What the customer's WeChat bill shows. In Chinese whatever the page's language, and the
    same every time: WeChat refuses an out_trade_no placed again with other details."""
    with translation.override("zh-hans"):
        if intent.purpose == Purpose.ORDER:
            text = _("%(shop)s order %(number)s") % {
                "shop": intent.merchant.name,
                "number": intent.reference,
            }
        else:
            text = _("%(shop)s card top-up") % {"shop": intent.merchant.name}
    return text[:127]


def _order(keys: Keys, intent, **extra) -> dict:
    if intent.currency != CURRENCY:
        raise ConfigError(f"WeChat Pay cannot take {intent.currency}")
    return {
        "appid": keys.appid,
        "mchid": keys.mchid,
        "description": _description(intent),
        "out_trade_no": intent.public_id,
        "notify_url": keys.notify_url,
        "amount": {"total": intent.amount, "currency": CURRENCY},
        **extra,
    }


def _keys_for(intent) -> Keys:
    return Keys(provider_account(intent.merchant, NAME))


def h5_prepay(keys: Keys, intent, *, client_ip: str) -> str:
    """Place the order for a phone browser outside WeChat; the h5_url to send the customer to."""
    payload = _order(
        keys, intent, scene_info={"payer_client_ip": client_ip, "h5_info": {"type": "Wap"}}
    )
    url = call(keys, "POST", "/v3/pay/transactions/h5", payload).get("h5_url")
    if not (isinstance(url, str) and url.startswith("https://")):
        raise ProviderError("WeChat Pay's answer has no h5_url")
    return url


def jsapi_prepay(keys: Keys, intent, *, openid: str, client_ip: str = "") -> str:
    """Place the order for a customer inside WeChat (their openid for our appid); the
    prepay_id the page hands to WeChat's JS bridge."""
    extra = {"payer": {"openid": openid}}
    if client_ip:
        extra["scene_info"] = {"payer_client_ip": client_ip}
    prepay_id = call(keys, "POST", "/v3/pay/transactions/jsapi", _order(keys, intent, **extra)).get(
        "prepay_id"
    )
    if not (isinstance(prepay_id, str) and ID.fullmatch(prepay_id)):
        raise ProviderError("WeChat Pay's answer has no prepay_id")
    return prepay_id


def jsapi_pay_params(intent, *, openid: str, client_ip: str = "") -> dict:
    """What WeixinJSBridge 'getBrandWCPayRequest' (or wx.requestPayment) takes to pay an
    intent inside WeChat: the prepay id, signed with the merchant's key."""
    try:
        keys = _keys_for(intent)
        prepay_id = jsapi_prepay(keys, intent, openid=openid, client_ip=client_ip)
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        package = f"prepay_id={prepay_id}"
        signature = keys.sign(f"{keys.appid}\n{timestamp}\n{nonce}\n{package}\n".encode())
    except ConfigError as exc:
        raise ProviderError(f"WeChat Pay is not set up: {exc}") from None
    return {
        "appId": keys.appid,
        "timeStamp": timestamp,
        "nonceStr": nonce,
        "package": package,
        "signType": "RSA",
        "paySign": signature,
    }


@dataclasses.dataclass(frozen=True)
class H5Link:
    url: str = ""  # WeChat's payment page, coming back to our return URL
    message: str = ""  # what the customer is told when there is no link
    settled: bool = False  # WeChat says the payment is over: go back and see the order


def h5_link(intent, *, client_ip: str, return_url: str, reconcile) -> H5Link:
    """A fresh link to pay an intent on WeChat's H5 page (each lasts five minutes). When
    WeChat says it is paid or closed already, `reconcile(intent)` asks about it now (the
    notification may be late)."""
    try:
        keys = _keys_for(intent)
        url = h5_prepay(keys, intent, client_ip=client_ip)
    except ConfigError as exc:
        log.error("WeChat Pay of merchant %s is not set up: %s", intent.merchant_id, exc)
        return H5Link(message=_("WeChat Pay is not available here. Please pay another way."))
    except WeChatPayError as exc:
        if exc.code in ("ORDERPAID", "ORDER_CLOSED"):
            reconcile(intent)
            return H5Link(settled=True)
        log.warning("WeChat Pay refused intent %s: %s", intent.public_id, exc)
        return H5Link(message=_("WeChat Pay did not accept this payment. Please try again."))
    except ProviderError as exc:
        log.warning("WeChat Pay for intent %s: %s", intent.public_id, exc)
        return H5Link(message=_("WeChat Pay did not answer. Please try again."))
    joiner = "&" if "?" in url else "?"
    return H5Link(url=f"{url}{joiner}redirect_url={quote(return_url, safe='')}")


# --- the provider --------------------------------------------------------------------------


class WeChatPayProvider:
    name = NAME
    currencies = ("CNY",)
    label = gettext_lazy("WeChat Pay")
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

    def create(self, intent, *, account, return_url: str) -> tuple[str, dict]:
        """Check the settings and send the customer to our page, which places the order with
        WeChat (it needs the customer's IP address; see the module's docstring)."""
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
            if _text(data, "out_refund_no") != refund.public_id:
                raise Malformed("an answer about another refund")
            status = REFUND_STATUS.get(_text(data, "status", 32), "pending")
            return RefundResult(status, _text(data, "refund_id"))
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
