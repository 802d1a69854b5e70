"""Provider accounts for tests that are not about setting one up."""

from django.utils import timezone

from tapgo.payments import credentials, providers
from tapgo.payments.models import ProviderAccount


def switched_on(*, merchant, provider: str, config: dict, secrets: dict, live=False):
    """The settings stored (with the checks made when they are entered) and switched on as
    if a connection test had worked, without asking the provider
    (`credentials.connect` asks it; its own tests are in test_stripe and test_wechatpay)."""
    providers.get(provider).check_credentials(config, secrets)
    account = credentials.save(
        merchant=merchant, provider=provider, config=config, secrets=secrets, enabled=False
    )
    ProviderAccount.objects.filter(pk=account.pk).update(
        tested_at=timezone.now(), tested_live=live, enabled=True
    )
    account.refresh_from_db()
    return account
