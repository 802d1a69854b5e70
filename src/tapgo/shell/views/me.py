"""The customer's own pages across mini apps (/me/…): their orders, their cards, and
signing in with an emailed one-time code (flows/customers.py) or out on this device.
"""

from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tapgo.core.urls import safe_next
from tapgo.flows.customers import sign_in
from tapgo.flows.membership import card_join
from tapgo.identity.middleware import current_customer, switch_customer
from tapgo.identity.services import SignInError, login_code_send
from tapgo.miniapps import services as miniapps
from tapgo.ordering import services as ordering
from tapgo.payments import stored_value
from tapgo.shell.views.base import signin_url
from tapgo.shell.views.member import join_intent, welcome

SIGNIN_SALT = "tapgo.signin"


@require_GET
def my_orders(request):
    """The customer's last 100 orders with their items (three queries in all, whatever the
    number of orders); a guest is offered signing in to see them on every device."""
    customer = current_customer(request)
    orders = ordering.orders_of_customer(customer).prefetch_related("lines")[:100]
    context = {
        "orders": orders,
        "customer": customer,
        "signin_url": signin_url(reverse("shell:my_orders")),
    }
    return render(request, "shell/my_orders.html", context)


@require_GET
def my_cards(request):
    """Every card the customer holds, with top-ups still being confirmed."""
    customer = current_customer(request)
    cards = stored_value.cards_of_customer(customer)
    apps = miniapps.live_app_of_merchants({c.merchant_id for c in cards})
    context = {
        "customer": customer,
        "cards": [(c, apps.get(c.merchant_id)) for c in cards],
        "open_topups": stored_value.open_topups(customer),
        "signin_url": signin_url(reverse("shell:my_cards")),
    }
    return render(request, "shell/my_cards.html", context)


@require_http_methods(["GET", "POST"])
def signin(request):
    next_url = safe_next(request, reverse("shell:my_orders"))
    intent = join_intent(request, next_url)  # signing in to join a card: the code joins too
    context = {"next": next_url, "step": "email", "join_app": intent[0] if intent else None}
    if request.method == "POST" and request.POST.get("step") == "email":
        email = request.POST.get("email", "").strip()
        try:
            validate_email(email)
            login_code_send(email=email)
        except ValidationError:
            context["error"] = _("Enter a valid email address.")
        except SignInError as exc:
            context["error"] = str(exc)
        else:
            context.update(step="code", email=email, token=signing.dumps(email, salt=SIGNIN_SALT))
    elif request.method == "POST" and request.POST.get("step") == "code":
        try:
            email = signing.loads(request.POST.get("token", ""), salt=SIGNIN_SALT, max_age=3600)
        except signing.BadSignature:
            context["error"] = _("This form has expired. Start again.")
        else:
            context.update(step="code", email=email, token=request.POST.get("token"))
            try:
                account = sign_in(
                    email=email, code=request.POST.get("code", ""), guest=current_customer(request)
                )
            except SignInError as exc:
                context["error"] = str(exc)
            else:
                switch_customer(request, account)
                messages.success(request, _("You are signed in as %(email)s.") % {"email": email})
                if intent is not None:
                    app, back = intent
                    member, new = card_join(app=app, customer=account)
                    welcome(request, member, new)
                    return HttpResponseRedirect(back)
                return HttpResponseRedirect(next_url)
    context["customer"] = current_customer(request)
    return render(request, "shell/signin.html", context)


@require_POST
def signout(request):
    switch_customer(request, None)
    messages.success(request, _("You are signed out on this device."))
    return redirect("shell:home")
