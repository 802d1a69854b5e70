"""Friendly error pages and uploaded media."""

import mimetypes
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe


def _error(request, status: int, title: str, message: str):
    return render(request, "core/error.html", {"title": title, "message": message}, status=status)


def bad_request(request, exception=None):
    return _error(request, 400, _("Bad request"), _("We could not understand that request."))


def forbidden(request, exception=None, reason=""):
    return _error(
        request,
        403,
        _("Not allowed"),
        _("This form has expired or was sent from elsewhere. Go back, reload and try again."),
    )


def not_found(request, exception=None):
    return _error(
        request, 404, _("Not found"), _("There is nothing here. The link may be old or mistyped.")
    )


def server_error(request):
    return _error(
        request, 500, _("Something went wrong"), _("Sorry, that did not work. Please try again.")
    )


@require_safe
def media(request, name: str):
    """Uploaded images (processed WebP files). A CDN or S3 serves them in a scale-out setup."""
    root = Path(settings.MEDIA_ROOT).resolve()
    try:
        target = (root / name).resolve()
        if root not in target.parents or not target.is_file():
            raise Http404
    except (OSError, ValueError):  # a name too long, or with a NUL: no such file
        raise Http404 from None
    response = FileResponse(target.open("rb"), content_type=mimetypes.guess_type(target.name)[0])
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
