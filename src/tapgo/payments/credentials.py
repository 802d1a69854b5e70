"""Merchants' provider credentials: secrets encrypted at rest, never shown back in full.

Secrets are a JSON object encrypted with core.crypto (Fernet under settings.ENCRYPTION_KEYS,
rotatable).
"""

import json

from cryptography.fernet import InvalidToken
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.core.crypto import fernet
from tapgo.payments import providers
from tapgo.payments.locks import lock_provider_account
from tapgo.payments.models import ProviderAccount


class CredentialsError(ValueError):
    pass


def _fernet():
    return fernet("provider-secrets")


def encrypt(values: dict[str, str]) -> bytes:
    return _fernet().encrypt(json.dumps(values).encode())


def decrypt(token: bytes | memoryview) -> dict[str, str]:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(bytes(token)))
    except InvalidToken:
        raise CredentialsError(
            "provider secrets cannot be decrypted with the current keys"
        ) from None


def secrets_of(account: ProviderAccount | None) -> dict[str, str]:
    return decrypt(account.secrets) if account is not None else {}


def hint(value: str) -> str:
    """What the console shows of a secret: its length hidden, its last four characters."""
    return "••••" + value[-4:] if len(value) > 8 else "••••"


MAX_FIELD = 8000  # a PEM private key fits; a pasted novel does not


def save(*, merchant, provider: str, config: dict, secrets: dict, enabled: bool = True):
    """Create or update a merchant's account with a provider. A secret left blank keeps the
    stored one; config values replace what was there."""
    impl = providers.get(provider)
    if impl is None or provider in (providers.WALLET,):
        raise CredentialsError(_("Unknown payment provider."))
    allowed_config = {key for key, _label in impl.config_fields}
    allowed_secrets = {key for key, _label in impl.secret_fields}
    for value in [*config.values(), *secrets.values()]:
        if not isinstance(value, str) or len(value) > MAX_FIELD or "\x00" in value:
            raise CredentialsError(_("A value is too long or not text."))
    if set(config) - allowed_config or set(secrets) - allowed_secrets:
        raise CredentialsError(_("Unknown setting."))
    with transaction.atomic():
        account = lock_provider_account(merchant, provider)
        if account is None:
            try:
                with transaction.atomic():
                    account = ProviderAccount.objects.create(merchant=merchant, provider=provider)
            except IntegrityError:
                account = lock_provider_account(merchant, provider)
                # The row another request made first (what failed our create) is there now.
                assert account is not None
        stored = secrets_of(account)
        stored.update({k: v.strip() for k, v in secrets.items() if v.strip()})
        missing = [label for key, label in impl.secret_fields if not stored.get(key)]
        if missing and enabled:
            raise CredentialsError(
                _("Enter %(fields)s.") % {"fields": ", ".join(str(m) for m in missing)}
            )
        config = {k: v.strip() for k, v in config.items()}
        if enabled:
            impl.check_credentials(config, stored)
        account.config = config
        account.secrets = encrypt(stored)
        account.hints = {k: hint(v) for k, v in stored.items()}
        account.enabled = enabled
        account.updated_at = timezone.now()
        account.save()
    return account
