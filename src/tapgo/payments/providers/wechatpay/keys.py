"""The merchant's WeChat Pay keys, and what is signed, verified and decrypted with them.

Requests are signed with the merchant's API private key (``Authorization:
WECHATPAY2-SHA256-RSA2048 …``); answers and notifications are verified with the WeChat Pay
public key, whose id must be the ``Wechatpay-Serial``; a notification's resource is
AES-256-GCM encrypted with the APIv3 key.
"""

import base64
import binascii
import json
import re
import secrets
import time
from functools import cached_property

from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tapgo.core.urls import absolute_url
from tapgo.payments import credentials

NAME = "wechatpay"
SIG_TYPE = "WECHATPAY2-SHA256-RSA2048"
# The ids that go into the Authorization header, between quotes.
ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class ConfigError(Exception):
    """The merchant's WeChat Pay settings are missing or broken."""


class BadSignature(ValueError):
    """An answer or a notification whose signature does not hold."""


class Malformed(ValueError):
    """A signed message that does not have the documented shape."""


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
