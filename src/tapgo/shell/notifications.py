"""The customer's notifications: following a message's link, and one-click unsubscribe.

Thin: each view reads the request, calls tapgo.messaging and renders.
"""

from urllib.parse import urlencode

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from tapgo.core.ids import is_public_id
from tapgo.core.scenes import Scene
from tapgo.messaging import email as email_channel
from tapgo.messaging import services as messaging
from tapgo.messaging.models import Template
from tapgo.miniapps.models import MiniApp


@require_GET
def message_open(request, public_id: str):
    """A message's link (inbox, push, email): counts it opened, then opens its page in the
    mini app with scene `notification`."""
    if not is_public_id(public_id):
        raise Http404
    message = messaging.message_open(public_id=public_id)
    if message is None:
        raise Http404
    query = urlencode({"scene": Scene.NOTIFICATION})
    return HttpResponseRedirect(f"{message.link}?{query}")


@csrf_exempt  # the signed token is the credential; mail clients POST without a session
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """RFC 8058 one-click unsubscribe: a POST stops these emails at once; a GET (a person, or
    a link scanner) shows a button, so a scanner cannot unsubscribe anyone."""
    target = email_channel.unsubscribe_target(token)
    if target is None:
        return render(request, "shell/unsubscribe.html", {"invalid": True}, status=400)
    customer_id, app_id, template_id = target
    app = MiniApp.objects.filter(pk=app_id).first()
    template = Template.objects.filter(pk=template_id).first()
    if app is None or template is None:
        return render(request, "shell/unsubscribe.html", {"invalid": True}, status=400)
    context = {"app": app, "name": messaging.template_name(template), "token": token}
    if request.method == "POST":
        messaging.email_unsubscribe(customer_id=customer_id, app=app, template=template)
        if request.POST.get("List-Unsubscribe") == "One-Click":
            return HttpResponse(status=204)  # a mail client: nobody reads the page
        context["done"] = True
    return render(request, "shell/unsubscribe.html", context)
