"""Placing an intent's order with WeChat (step 2 in the package's docstring): H5 for a phone
browser, the link our pay page sends the customer to (`h5_link`); JSAPI inside WeChat's own
browser (`jsapi_pay_params`).
"""

import dataclasses
import logging
import secrets
import time
from urllib.parse import quote

from django.utils import translation
from django.utils.translation import gettext as _

from tapgo.payments.models import Purpose
from tapgo.payments.providers import ProviderError
from tapgo.payments.providers.wechatpay.api import CURRENCY, WeChatPayError, call
from tapgo.payments.providers.wechatpay.keys import ID, NAME, ConfigError, Keys
from tapgo.payments.services.intents import provider_account

log = logging.getLogger(__name__)


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
