"""Web Push: the platform's VAPID keys, checking a device's subscription, sending one push.

Payloads are encrypted (aes128gcm, RFC 8291) and signed (VAPID, RFC 8292) by pywebpush.
"""

import base64
import ipaddress
import json
import logging
import re
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from tapgo.core.crypto import fernet
from tapgo.messaging.models import VapidKey

log = logging.getLogger(__name__)
TTL_SECONDS = 24 * 3600  # a push service keeps an undelivered push this long
TIMEOUT_SECONDS = 5  # to connect, and again to answer: a dead host holds a worker no longer


class SubscriptionError(ValueError):
    pass


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- VAPID keys --------------------------------------------------------------------------

_keys: tuple[Vapid, str] | None = None
_keys_lock = threading.Lock()


def _new_key_pair() -> tuple[bytes, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    raw = private.private_numbers().private_value.to_bytes(32, "big")
    public = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return raw, b64url(public)


def ensure_vapid_keys():
    """The platform's VAPID key row, made the first time Tapgo starts and kept from then on.
    Of two processes starting together, the primary key lets one create it."""
    row = VapidKey.objects.filter(pk=1).first()
    if row is not None:
        return row
    raw, public = _new_key_pair()
    try:
        with transaction.atomic():
            return VapidKey.objects.create(
                pk=1, public_key=public, private_key=fernet("vapid").encrypt(b64url(raw).encode())
            )
    except IntegrityError:
        return VapidKey.objects.get(pk=1)


def vapid() -> tuple[Vapid, str]:
    """The signing key (py_vapid, from the raw base64url scalar) and the public key that
    the browser's pushManager.subscribe takes as applicationServerKey."""
    global _keys
    with _keys_lock:
        if _keys is None:
            row = ensure_vapid_keys()
            raw = fernet("vapid").decrypt(bytes(row.private_key)).decode()
            _keys = (Vapid.from_raw(raw.encode()), row.public_key)
        return _keys


def public_key() -> str:
    return vapid()[1]


def forget_keys() -> None:
    """Drop the cached keys (tests that make a fresh database)."""
    global _keys
    with _keys_lock:
        _keys = None


def vapid_subject() -> str:
    return settings.VAPID_SUBJECT


# --- subscriptions -----------------------------------------------------------------------


def _local_host(host: str) -> bool:
    host = host.rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        try:  # the short forms the resolver also reads as addresses: 127.1, 2130706433, 0x7f.1
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return False
    if isinstance(address, ipaddress.IPv6Address) and address in _NAT64:
        return True  # 64:ff9b::7f00:1 is 127.0.0.1 through a NAT64 gateway
    return not address.is_global


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def check_subscription(endpoint, p256dh, auth) -> tuple[str, str, str]:
    """A subscription as the browser's PushSubscription.toJSON() gives it, checked: an https
    endpoint on a public host (the worker will call it), a P-256 public key and a 16-byte
    secret. TAPGO_PUSH_ALLOW_LOCAL lets tests and the bench use a loopback endpoint."""
    if not all(isinstance(v, str) for v in (endpoint, p256dh, auth)):
        raise SubscriptionError(_("This browser sent a subscription we cannot use."))
    endpoint = endpoint.strip()
    parts = urlsplit(endpoint)
    allow_local = settings.PUSH_ALLOW_LOCAL
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        len(endpoint) > 1000
        or not parts.hostname
        or parts.username is not None
        or any(ch.isspace() or not ch.isprintable() for ch in endpoint)
    ):
        raise SubscriptionError(_("This browser sent a subscription we cannot use."))
    if parts.scheme != "https" and not (allow_local and parts.scheme == "http"):
        raise SubscriptionError(_("A push endpoint must use https."))
    if _local_host(parts.hostname) and not allow_local:
        raise SubscriptionError(_("A push endpoint must be on the internet."))
    if port not in (None, 443) and not allow_local:  # push services listen on 443
        raise SubscriptionError(_("This browser sent a subscription we cannot use."))
    try:
        key, secret = unb64url(p256dh.strip()), unb64url(auth.strip())
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key)
    except (ValueError, TypeError):
        raise SubscriptionError(_("This browser sent a subscription we cannot use.")) from None
    if len(secret) != 16:
        raise SubscriptionError(_("This browser sent a subscription we cannot use."))
    return endpoint, b64url(key), b64url(secret)


# --- sending -----------------------------------------------------------------------------

_sessions = threading.local()


def _session() -> requests.Session:
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = _NoRedirects()
    return session


_ADDRESSES = re.compile(r"[a-z][a-z0-9+.-]*://\S+|[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+", re.I)


def redact(text: str) -> str:
    """An error as it may be stored and logged: without URLs (a push endpoint's path is the
    device's secret) or email addresses."""
    return _ADDRESSES.sub("…", text)[:300]


@dataclass
class Outcome:
    """What one attempt at a channel came to: sent, retry (temporary), dead (permanent) or
    gone (the push subscription expired: drop it). The error is redacted as it is made."""

    result: str
    error: str = ""

    def __post_init__(self):
        self.error = redact(self.error)


class _NoRedirects(requests.Session):
    """A push service answers; it does not redirect. Following a redirect would let an
    endpoint on a public host send the worker to a private one."""

    def request(self, method, url, **kwargs):
        kwargs["allow_redirects"] = False
        return super().request(method, url, **kwargs)


def send(subscription, payload: dict) -> Outcome:
    """POST one encrypted push to the device's push service."""
    signer, _public = vapid()
    info = {
        "endpoint": subscription.endpoint,
        "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
    }
    try:
        response = webpush(
            info,
            data=json.dumps(payload, ensure_ascii=False),
            vapid_private_key=signer,
            vapid_claims={"sub": vapid_subject()},
            content_encoding="aes128gcm",
            ttl=TTL_SECONDS,
            timeout=TIMEOUT_SECONDS,
            requests_session=_session(),
        )
    except WebPushException as exc:
        status = getattr(exc.response, "status_code", None)
        reason = f"push service answered {status}"
        if status in (404, 410):
            return Outcome("gone", reason)
        if status is None or status == 429 or status >= 500:
            return Outcome("retry", reason)
        return Outcome("dead", reason)  # 3xx (no redirects), 400, 401, 403, 413
    except requests.RequestException as exc:
        return Outcome("retry", f"push service unreachable ({type(exc).__name__})")
    answered = getattr(response, "status_code", 201)
    if answered < 300:
        return Outcome("sent")
    return Outcome("retry", f"push service answered {answered}")
