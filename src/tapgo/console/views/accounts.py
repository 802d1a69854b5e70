"""The console's accounts: logging in and out, signing up, the list of one's businesses,
creating a business, and accepting an invitation to join a team (signing up on the way)."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, LogoutView
from django.db import IntegrityError, transaction
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from tapgo.console import forms
from tapgo.console.views.base import render_console
from tapgo.core import translations
from tapgo.identity.models import User
from tapgo.identity.services import staff_user_create
from tapgo.merchants import services as merchants

BACKEND = "django.contrib.auth.backends.ModelBackend"


def _create_account(form, email: str):
    """The account, or None with a form error when the email was taken meanwhile."""
    try:
        with transaction.atomic():
            return staff_user_create(email=email, password=form.cleaned_data["password1"])
    except IntegrityError:
        form.add_error(None, _("An account with this email already exists. Log in instead."))
        return None


class ConsoleLogin(LoginView):
    template_name = "console/login.html"
    authentication_form = forms.LoginForm
    redirect_authenticated_user = True


login_view = ConsoleLogin.as_view()
logout_view = LogoutView.as_view(next_page="console:login")


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("console:home")
    form = forms.SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = _create_account(form, form.cleaned_data["email"])
        if user is not None:
            login(request, user, backend=BACKEND)
            messages.success(request, _("Welcome to Tapgo. Create your business to begin."))
            return redirect("console:merchant_new")
    return render_console(request, "console/signup.html", {"form": form})


@login_required
@require_GET
def home(request):
    return render_console(
        request, "console/home.html", {"merchants": merchants.merchants_of(request.user)}
    )


@login_required
@require_http_methods(["GET", "POST"])
def merchant_new(request):
    # The menu's default language: the one the merchant is using the console in.
    form = forms.MerchantForm(request.POST or None, initial={"language": translations.current()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            merchant = merchants.merchant_create(owner=request.user, **data)
        except merchants.MerchantError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("%(name)s is ready. Now build its mini app.") % data)
            return redirect("console:app_new", merchant.public_id)
    return render_console(request, "console/merchant_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
def invitation(request, public_id: str):
    invite = merchants.invitation_get(public_id)
    user = request.user
    signup_form = None
    if not user.is_authenticated:
        signup_form = forms.SignupForm(
            request.POST if request.method == "POST" else None, fixed_email=invite.email
        )
    if request.method == "POST":
        if signup_form is not None:  # not signed in: the invitation makes the account
            user = signup_form.is_valid() and _create_account(signup_form, invite.email)
            if user:
                login(request, user, backend=BACKEND)
            else:
                return render_console(
                    request, "console/invitation.html", {"invite": invite, "form": signup_form}
                )
        try:
            merchant = merchants.invitation_accept(invitation=invite, user=user)
        except merchants.MerchantError as error:
            messages.error(request, str(error))
            return redirect("console:home")
        messages.success(request, _("You joined %(name)s.") % {"name": merchant.name})
        return redirect("console:board", merchant.public_id)
    account_exists = False
    if not user.is_authenticated:
        account_exists = User.objects.filter(email=invite.email).exists()
    return render_console(
        request,
        "console/invitation.html",
        {
            "invite": invite,
            "form": signup_form,
            "account_exists": account_exists,
            "email_matches": user.is_authenticated and user.email.lower() == invite.email,
        },
    )
