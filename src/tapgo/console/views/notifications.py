"""The console's Notifications page: which notifications each mini app sends, and how they do.

Thin like the rest of the console: the platform's active templates come from messaging, an
owner switches one on or off for an app with messaging.app_template_switch (the app reached
through access_app with the merchant, so another merchant's app answers 404), and the figures
are messaging.template_stats(merchant): counts of the merchant's own messages only, never a
customer, an address or a device.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tapgo.console.views.base import merchant_view, render_console
from tapgo.messaging import services as messaging
from tapgo.messaging import texts as template_texts
from tapgo.miniapps import services as miniapps


def _percent(part: int, whole: int) -> int | None:
    return round(100 * part / whole) if whole else None


def _stats(merchant, names: dict[int, str]) -> list[dict]:
    rows = []
    for row in messaging.template_stats(merchant):
        rows.append(
            {
                **row,
                # a template withdrawn since keeps its figures, under its key
                "name": names.get(row["template_id"], row["template__key"]),
                "opened_rate": _percent(row["opened"], row["delivered"]),
            }
        )
    return rows


@merchant_view()
@require_GET
def notifications(request, merchant):
    templates = list(messaging.templates_active())
    described = []
    for template in templates:
        texts = template_texts.text_for(template.texts, request.LANGUAGE_CODE)
        described.append({"template": template, "name": texts["name"], "ask": texts["ask"]})
    mini_apps = list(miniapps.apps_of(merchant))
    on = messaging.apps_templates_on(mini_apps)  # one query for every app
    apps = [
        {"app": app, "templates": [{**d, "on": d["template"].pk in on[app.pk]} for d in described]}
        for app in mini_apps
    ]
    names = {d["template"].pk: d["name"] for d in described}
    return render_console(
        request,
        "console/notifications.html",
        {"apps": apps, "stats": _stats(merchant, names)},
    )


@merchant_view(owner_only=True)
@require_POST
def notification_switch(request, merchant, app_id: str, key: str):
    app = miniapps.access_app(merchant=merchant, app_public_id=app_id)
    template = messaging.template_by_key(key)
    if template is None:
        raise Http404
    on = request.POST.get("on")
    if on not in {"0", "1"}:
        messages.error(request, _("Choose on or off."))
        return redirect("console:notifications", merchant.public_id)
    name = messaging.template_name(template, request.LANGUAGE_CODE)
    try:
        messaging.app_template_switch(app=app, template=template, on=on == "1")
    except messaging.MessagingError as error:
        messages.error(request, str(error))
    else:
        values = {"name": name, "app": app.name}
        if on == "1":
            messages.success(request, _("%(app)s now sends “%(name)s”.") % values)
        else:
            messages.success(request, _("%(app)s no longer sends “%(name)s”.") % values)
    return redirect("console:notifications", merchant.public_id)
