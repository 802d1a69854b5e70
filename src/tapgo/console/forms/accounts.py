"""Signing in and signing up."""

from typing import TYPE_CHECKING

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from tapgo.identity.models import User

if TYPE_CHECKING:
    pass


class LoginForm(AuthenticationForm):
    """Email and password; the email is matched case-insensitively (stored lower-case)."""

    def clean_username(self):
        return (self.cleaned_data.get("username") or "").strip().lower()


class SignupForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters; not a common password and not only digits."),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, fixed_email: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fixed_email = fixed_email
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        if fixed_email:
            self.fields["email"].initial = fixed_email
            self.fields["email"].disabled = True

    def clean_email(self):
        email = (self.fixed_email or self.cleaned_data["email"]).strip().lower()
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError(
                _("An account with this email already exists. Log in instead.")
            )
        return email

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords are not the same."))
        elif p1:
            try:
                password_validation.validate_password(
                    p1, User(email=cleaned.get("email") or self.fixed_email or "")
                )
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned
