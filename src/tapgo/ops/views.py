"""The operator console (/ops/): thin views over the domains' services, for platform staff.

Every page passes through operator_view: someone not signed in goes to the console's login
(and comes back with ?next=), a signed-in user who is not an operator (User.is_staff) gets
403. Pages here never show a customer's email address, push endpoint or id: a delivery is
shown by its channel, and an error text has any address in it blanked out.
"""

import re
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tapgo.core.urls import safe_next
from tapgo.messaging import delivery as messaging_delivery
from tapgo.messaging import services as messaging
from tapgo.messaging import texts as template_texts
from tapgo.messaging.models import Delivery
from tapgo.ops.forms import TemplateForm

DEAD_LETTERS_SHOWN = 100

URL_RE = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)
EMAIL_RE = re.compile(r"[^\s'\"<>(),;:\[\]]+@[^\s'\"<>(),;:\[\]]+")
# requests names the path of the URL it could not reach (a push endpoint's secret part)
PATH_RE = re.compile(r"(url: )[^\s'\"()<>]+", re.IGNORECASE)


def operator_view(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), "console:login")
        if not (user.is_active and user.is_staff):
            return render(request, "ops/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def redacted(error: str) -> str:
    """An error as stored, without the addresses a push service or mail server put in it."""
    hidden = _("[address]")
    error = URL_RE.sub(hidden, error or "")
    error = PATH_RE.sub(lambda match: match.group(1) + hidden, error)
    return EMAIL_RE.sub(hidden, error)


@operator_view
@require_GET
def home(request):
    return redirect("ops:templates")


# --- the template library -----------------------------------------------------------------


@operator_view
@require_GET
def templates(request):
    rows = []
    for template in messaging.templates_with_usage():
        name = template_texts.text_for(template.texts, request.LANGUAGE_CODE)["name"]
        rows.append({"template": template, "name": name})
    return render(request, "ops/templates.html", {"rows": rows})


def _template_form(request, template=None):
    adding = template is None
    initial = {} if adding else TemplateForm.initial_for(template)
    form = TemplateForm(request.POST or None, initial=initial, adding=adding)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = messaging.template_save(
                key=data.get("key", ""),
                fields=data["field_lines"],
                texts=form.texts(),
                subject=data["subject"],
                standing=data["standing"],
                default_on=data["default_on"],
                active=data["active"],
                template=template,
            )
        except (messaging.MessagingError, template_texts.TemplateTextError) as error:
            form.add_error(None, str(error))
        else:
            if adding:
                messages.success(request, _("Template “%(key)s” added.") % {"key": saved.key})
            else:
                messages.success(request, _("Template “%(key)s” saved.") % {"key": saved.key})
            return redirect("ops:templates")
    return render(request, "ops/template_form.html", {"form": form, "template": template})


@operator_view
@require_http_methods(["GET", "POST"])
def template_new(request):
    return _template_form(request)


@operator_view
@require_http_methods(["GET", "POST"])
def template_edit(request, key: str):
    template = messaging.template_by_key(key)
    if template is None:
        raise Http404
    return _template_form(request, template)


# --- dead letters -------------------------------------------------------------------------


def _dead_letter_filters(request) -> tuple[dict, list[str]]:
    """The filters asked for in the query string, and a message for each that makes no sense."""
    chosen, problems = {}, []
    channel = request.GET.get("channel", "")
    if channel:
        if channel in Delivery.Channel.values:
            chosen["channel"] = channel
        else:
            problems.append(_("There is no channel “%(value)s”.") % {"value": channel[:20]})
    key = request.GET.get("template", "")
    if key:
        if messaging.template_by_key(key) is not None:
            chosen["template"] = key
        else:
            problems.append(_("There is no template “%(value)s”.") % {"value": key[:40]})
    return chosen, problems


@operator_view
@require_GET
def dead_letters(request):
    chosen, problems = _dead_letter_filters(request)
    for problem in problems:
        messages.error(request, problem)
    found = messaging_delivery.dead_letters()
    if "channel" in chosen:
        found = found.filter(channel=chosen["channel"])
    if "template" in chosen:
        found = found.filter(message__template__key=chosen["template"])
    total = found.count()
    rows = [{"delivery": d, "error": redacted(d.last_error)} for d in found[:DEAD_LETTERS_SHOWN]]
    return render(
        request,
        "ops/dead_letters.html",
        {
            "rows": rows,
            "total": total,
            "chosen": chosen,
            "channels": Delivery.Channel.choices,
            "templates": messaging.templates_with_usage(),
        },
    )


@operator_view
@require_POST
def dead_letters_retry(request):
    back = safe_next(request, reverse("ops:dead_letters"))
    asked = request.POST.getlist("delivery")
    if (
        not asked
        or len(asked) > DEAD_LETTERS_SHOWN
        or not all(value.isascii() and value.isdigit() and len(value) < 19 for value in asked)
    ):
        messages.error(request, _("Choose deliveries from the list to retry."))
        return HttpResponseRedirect(back)
    retried = sum(
        messaging_delivery.delivery_retry(delivery_id=int(value)) for value in sorted(set(asked))
    )
    if retried:
        messages.success(
            request,
            ngettext(
                "%(n)d delivery is queued again.", "%(n)d deliveries are queued again.", retried
            )
            % {"n": retried},
        )
    else:
        messages.info(request, _("Nothing to retry: these were retried already."))
    return HttpResponseRedirect(back)


# --- a message's delivery log -------------------------------------------------------------


@operator_view
@require_GET
def message_log(request):
    asked = request.GET.get("message", "").strip()
    message = None
    if asked:
        message = messaging.message_log(asked)
        if message is None:
            messages.error(request, _("No message has this id."))
    deliveries = []
    if message is not None:
        deliveries = [
            {"delivery": d, "error": redacted(d.last_error)} for d in message.deliveries.all()
        ]
    return render(
        request,
        "ops/message.html",
        {"asked": asked[:40], "message": message, "deliveries": deliveries},
    )
