"""Requests to WeChat Pay API v3 over urllib: signed, their answers verified, its error
answers as WeChatPayError. settings.WECHATPAY_API_BASE points the API elsewhere (a fake on
loopback in the tests).
"""

import http.client
import json
import urllib.error
import urllib.request

from django.conf import settings

from tapgo.payments.providers import ProviderError
from tapgo.payments.providers.wechatpay.keys import (
    BadSignature,
    Keys,
    authorization,
    verify_signature,
)

CURRENCY = "CNY"  # WeChat Pay's domestic API takes yuan (in fen) only
TIMEOUT_SECONDS = 15
MAX_ANSWER_BYTES = 1024 * 1024


class WeChatPayError(ProviderError):
    """WeChat Pay answered a request with an error (4xx/5xx and its code)."""

    def __init__(self, status: int, code: str = "", message: str = ""):
        super().__init__(f"WeChat Pay answered {status} {code}: {message}"[:500])
        self.status, self.code, self.message = status, code, message


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
