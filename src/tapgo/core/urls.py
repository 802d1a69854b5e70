from django.conf import settings
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def absolute_url(name: str, *args) -> str:
    """A full URL on the public base (what printed codes and emails carry)."""
    return settings.PUBLIC_URL + reverse(name, args=args)


def safe_next(request, fallback: str) -> str:
    """The `next` a form or link asked for, when it is a path on this site; else fallback.

    Only absolute paths ("/m/cafe/"), never a URL to another host ("//evil", "https://…")
    nor a bare word that redirect() would take for a view name.
    """
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (
        target.startswith("/")
        and not target.startswith(("//", "/\\"))
        and "\x00" not in target
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return fallback
