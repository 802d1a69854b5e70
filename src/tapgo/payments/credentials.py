"""Merchants' provider credentials: secrets encrypted at rest, never shown back in full.

Secrets are a JSON object encrypted with core.crypto (Fernet under settings.ENCRYPTION_KEYS,
rotatable).
"""

import json
import logging

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.core.crypto import fernet
from tapgo.payments import providers
from tapgo.payments.locks import lock_provider_account
from tapgo.payments.models import ProviderAccount

log = logging.getLogger(__name__)


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
SANDBOX = "sandbox"  # providers.sandbox.NAME (that module imports payments' services)


def _real(provider: str):
    """A real provider a merchant sets up with keys (not the sandbox, not stored value)."""
    impl = providers.get(provider)
    if impl is None or provider in (providers.WALLET, SANDBOX):
        raise CredentialsError(_("Unknown payment provider."))
    return impl


def _check_values(impl, config: dict, secrets: dict) -> None:
    allowed_config = {key for key, _label in impl.config_fields}
    allowed_secrets = {key for key, _label in impl.secret_fields}
    for value in [*config.values(), *secrets.values()]:
        if not isinstance(value, str) or len(value) > MAX_FIELD or "\x00" in value:
            raise CredentialsError(_("A value is too long or not text."))
    if set(config) - allowed_config or set(secrets) - allowed_secrets:
        raise CredentialsError(_("Unknown setting."))


def _merged(account, config: dict, secrets: dict) -> tuple[dict, dict]:
    """The settings as they would be: a secret left blank keeps the stored one; config
    values replace what was there."""
    stored = secrets_of(account)
    stored.update({k: v.strip() for k, v in secrets.items() if v.strip()})
    return {k: v.strip() for k, v in config.items()}, stored


def _require_secrets(impl, stored: dict) -> None:
    missing = [label for key, label in impl.secret_fields if not stored.get(key)]
    if missing:
        raise CredentialsError(
            _("Enter %(fields)s.") % {"fields": ", ".join(str(m) for m in missing)}
        )


def _locked_account(merchant, provider: str, *, enabled: bool) -> ProviderAccount:
    """The merchant's account with the provider, row-locked; made (as `enabled`) if none."""
    account = lock_provider_account(merchant, provider)
    if account is None:
        try:
            with transaction.atomic():
                account = ProviderAccount.objects.create(
                    merchant=merchant, provider=provider, enabled=enabled
                )
        except IntegrityError:
            account = lock_provider_account(merchant, provider)
            # The row another request made first (what failed our create) is there now.
            assert account is not None
    return account


def _store(account, config: dict, stored: dict) -> bool:
    """Write the settings on the account (not saved); True when they changed, which clears
    the connection test: it was of other keys."""
    changed = stored != secrets_of(account) or config != dict(account.config)
    account.config = config
    account.secrets = encrypt(stored)
    account.hints = {k: hint(v) for k, v in stored.items()}
    account.updated_at = timezone.now()
    if changed:
        account.tested_at = None
        account.tested_live = None
    return changed


def save(*, merchant, provider: str, config: dict, secrets: dict, enabled: bool = True):
    """Create or update a merchant's account with a provider. A secret left blank keeps the
    stored one; config values replace what was there. Changing a setting clears the
    connection test; a provider is switched on only with settings that passed one
    (`connect`): customers never meet keys that do not work."""
    impl = _real(provider)
    _check_values(impl, config, secrets)
    with transaction.atomic():
        account = _locked_account(merchant, provider, enabled=False)
        config, stored = _merged(account, config, secrets)
        if enabled:
            _require_secrets(impl, stored)
            impl.check_credentials(config, stored)
        changed = _store(account, config, stored)
        # (An account switched on before connection tests existed stays on while unchanged.)
        if enabled and account.tested_at is None and (changed or not account.enabled):
            raise CredentialsError(
                _(
                    "Test the connection first: %(provider)s is switched on only once a "
                    "test with these settings has worked."
                )
                % {"provider": impl.label}
            )
        account.enabled = enabled
        account.save()
    return account


def connect(*, merchant, provider: str, config: dict, secrets: dict, enable: bool = False):
    """Test these settings at the provider with a harmless authenticated call and, when it
    works, store them as tested (switched on if `enable`, else as they were). A refusal or
    no answer raises CredentialsError and changes nothing.

    The call is made outside any transaction (no lock is held across the network); the
    settings are stored only if nobody changed them meanwhile."""
    impl = _real(provider)
    _check_values(impl, config, secrets)
    account = ProviderAccount.objects.filter(merchant=merchant, provider=provider).first()
    tested = _merged(account, config, secrets)
    _require_secrets(impl, tested[1])
    impl.check_credentials(*tested)
    try:
        result = impl.test_connection(*tested)
    except providers.ProviderError as exc:
        log.warning("connection test of %s for merchant %s: %s", provider, merchant.pk, exc)
        raise CredentialsError(
            _("%(provider)s did not answer, so nothing was changed. Try again in a minute.")
            % {"provider": impl.label}
        ) from None
    with transaction.atomic():
        account = _locked_account(merchant, provider, enabled=False)
        if _merged(account, config, secrets) != tested:
            raise CredentialsError(_("These settings changed while they were tested. Test again."))
        _store(account, *tested)
        account.tested_at = timezone.now()
        account.tested_live = result.live
        if enable:
            account.enabled = True
        account.save()
    return account


def is_tested(account: ProviderAccount | None) -> bool:
    return account is not None and account.tested_at is not None


# --- the sandbox ----------------------------------------------------------------------------


class SandboxOffer:
    """When the merchant's customers may pay with the sandbox (test payments)."""

    AUTO = "auto"  # while no real provider is on (no account row: the default)
    ALWAYS = "always"  # beside any real provider (the row, switched on)
    NEVER = "never"  # not at all (the row, switched off)


def sandbox_offer(merchant) -> str:
    found = ProviderAccount.objects.filter(merchant=merchant, provider=SANDBOX)
    enabled = found.values_list("enabled", flat=True).first()
    if enabled is None:
        return SandboxOffer.AUTO
    return SandboxOffer.ALWAYS if enabled else SandboxOffer.NEVER


def sandbox_set(*, merchant, offer: str) -> None:
    """Choose when customers may pay with the sandbox, where the operator allows it at all
    (TAPGO_SANDBOX_PAYMENTS); payments.payment_methods reads the choice."""
    if not settings.SANDBOX_PAYMENTS:
        raise CredentialsError(_("Test payments are off on this Tapgo."))
    if offer not in (SandboxOffer.AUTO, SandboxOffer.ALWAYS, SandboxOffer.NEVER):
        raise CredentialsError(_("Choose when customers may pay with test payments."))
    with transaction.atomic():
        if offer == SandboxOffer.AUTO:
            ProviderAccount.objects.filter(merchant=merchant, provider=SANDBOX).delete()
            return
        account = _locked_account(merchant, SANDBOX, enabled=offer == SandboxOffer.ALWAYS)
        account.enabled = offer == SandboxOffer.ALWAYS
        account.updated_at = timezone.now()
        account.save(update_fields=["enabled", "updated_at"])
