"""WeChat Pay API v3 in public-key mode, on `cryptography` and urllib; the public names are
all here. Why not the `wechatpayv3` library: docs/decisions/0004-ledger.md.

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

By job:

- keys.py: the provider's NAME, the merchant's keys and settings (ConfigError), requests
  signed, answers and notifications verified (BadSignature), resources decrypted (Malformed);
- api.py: signed requests to the API, their verified answers, its errors (WeChatPayError);
- events.py: notifications and query answers as ProviderEvents, refund answers as RefundResults;
- paying.py: placing H5 and JSAPI orders, the H5 link for our pay page (H5Link, `h5_link`);
- provider.py: WeChatPayProvider and PROVIDER, which the payments registry uses.
"""

from tapgo.payments.providers.wechatpay.api import (
    CURRENCY,
    MAX_ANSWER_BYTES,
    TIMEOUT_SECONDS,
    WeChatPayError,
    call,
)
from tapgo.payments.providers.wechatpay.events import (
    REFUND_EVENTS,
    REFUND_STATUS,
    TRADE_STATES,
    notification_event,
    refund_answer,
    refund_event,
    transaction_event,
)
from tapgo.payments.providers.wechatpay.keys import (
    ID,
    NAME,
    SIG_TYPE,
    BadSignature,
    ConfigError,
    Keys,
    Malformed,
    authorization,
    decrypt,
    verify_signature,
)
from tapgo.payments.providers.wechatpay.paying import (
    H5Link,
    h5_link,
    h5_prepay,
    jsapi_pay_params,
    jsapi_prepay,
)
from tapgo.payments.providers.wechatpay.provider import (
    PROVIDER,
    REFUND_REFUSED,
    TOLERANCE_SECONDS,
    WeChatPayProvider,
)

__all__ = [
    "CURRENCY",
    "ID",
    "MAX_ANSWER_BYTES",
    "NAME",
    "PROVIDER",
    "REFUND_EVENTS",
    "REFUND_REFUSED",
    "REFUND_STATUS",
    "SIG_TYPE",
    "TIMEOUT_SECONDS",
    "TOLERANCE_SECONDS",
    "TRADE_STATES",
    "BadSignature",
    "ConfigError",
    "H5Link",
    "Keys",
    "Malformed",
    "WeChatPayError",
    "WeChatPayProvider",
    "authorization",
    "call",
    "decrypt",
    "h5_link",
    "h5_prepay",
    "jsapi_pay_params",
    "jsapi_prepay",
    "notification_event",
    "refund_answer",
    "refund_event",
    "transaction_event",
    "verify_signature",
]
