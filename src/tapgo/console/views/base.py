"""The console's frame, shared by every view module: reaching the merchant, rendering a page
in the console's frame, answering JSON when asked, and storing an uploaded image.

Every merchant page is /console/<merchant public id>/… and passes through merchant_view(),
which asks merchants.services.access_merchant (404 for anyone not on the team). Objects are
then reached through the domains' access_* helpers with that merchant, so another merchant's
ids answer 404 and show nothing.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from tapgo.core.images import ImageRejected, image_store
from tapgo.merchants import services as merchants
from tapgo.merchants.models import Role


def merchant_view(*, owner_only: bool = False):
    """Resolve /console/<m>/… to the merchant (or 404) and show times in the store's zone."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, m: str, *args, **kwargs):
            merchant, role = merchants.access_merchant(
                user=request.user, merchant_public_id=m, owner_only=owner_only
            )
            request.merchant, request.role = merchant, role
            request.store = merchants.merchant_store(merchant)
            with timezone.override(request.store.tz):
                return view(request, merchant, *args, **kwargs)

        return wrapper

    return decorator


def render_console(request, template: str, context: dict | None = None, *, status: int = 200):
    """Render a console template; on a merchant page the frame gets the merchant and role."""
    merchant = getattr(request, "merchant", None)
    base = {}
    if merchant is not None:
        base = {
            "merchant": merchant,
            "role": request.role,
            "is_owner": request.role == Role.OWNER,
            "currency": merchant.currency,
        }
    base.update(context or {})
    return render(request, template, base, status=status)


def wants_json(request) -> bool:
    """The console's script asks for JSON (to update the page in place); a form does not."""
    return "application/json" in request.headers.get("Accept", "")


def store_image(form, field: str, folder: str, size: str = "thumb") -> str | None:
    """Store an uploaded image; None when nothing was uploaded or it was refused (form error)."""
    upload = form.cleaned_data.get(field)
    if not upload:
        return None
    try:
        return image_store(upload, folder=folder)[size]
    except ImageRejected as error:
        form.add_error(field, str(error))
        return None


def form_errors(form) -> str:
    """A form's errors as one message, each with its field's label (for a page that answers
    a form with a redirect and a message)."""
    parts: list[str] = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else None
        parts.extend(f"{label}: {e}" if label else str(e) for e in errors)
    return " ".join(parts)
