"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under keys
derived from settings.ENCRYPTION_KEYS and a purpose; the first key encrypts, every key
decrypts, so a key can be rotated by putting the new one first."""

import base64
import hashlib

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


def fernet(purpose: str) -> MultiFernet:
    """The cipher for one kind of secret ("provider-secrets", "vapid", ...)."""
    keys = []
    for secret in settings.ENCRYPTION_KEYS:
        digest = hashlib.sha256(f"tapgo.{purpose}:".encode() + secret.encode()).digest()
        keys.append(Fernet(base64.urlsafe_b64encode(digest)))
    return MultiFernet(keys)
