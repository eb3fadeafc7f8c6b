"""Logging in, and setting a password: Django's auth views with the desk's throttle.

Password reset links go out by e-mail (EMAIL_BACKEND) and point at SITE_URL, never at
the Host header of the request that asked for them. See README.md, "Accounts".
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy

from annotations import throttle


def _address(request) -> str:
    return request.META.get("REMOTE_ADDR", "") if request else ""


def _duration(seconds: int) -> str:
    """3600 -> "1 hour", 5400 -> "90 minutes"."""
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class ThrottledAuthenticationForm(auth_forms.AuthenticationForm):
    """Refuses further attempts once a failure counter is at its limit (annotations/throttle.py)."""

    def clean(self):
        username = self.data.get("username", "")
        address = _address(self.request)
        blocked = throttle.login_blocked(username=username, address=address)
        if blocked:
            raise forms.ValidationError(blocked.message("Too many failed log-in attempts"), code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            throttle.login_failed(username=username, address=address)
            raise
        throttle.login_succeeded(username=username, address=address)
        return cleaned


class ThrottledAdminAuthenticationForm(ThrottledAuthenticationForm, AdminAuthenticationForm):
    """The Django admin's login form, on the same counters (factcheck/urls.py)."""


class LoginView(auth_views.LoginView):
    form_class = ThrottledAuthenticationForm
    redirect_authenticated_user = True


class ThrottledPasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset form, limited per e-mail address and per client address. It answers
    the same whether or not an account has the address, so it tells nobody who has one."""

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.fields["email"].label = "E-mail address"

    def clean_email(self):
        email = self.cleaned_data["email"]
        address = _address(self.request)
        blocked = throttle.password_reset_blocked(email=email, address=address)
        if blocked:
            raise forms.ValidationError(blocked.message("Too many password reset requests"), code="throttled")
        throttle.password_reset_requested(email=email, address=address)
        return email


# Template names of their own: Django's defaults are also the admin's templates.
class PasswordResetView(auth_views.PasswordResetView):
    form_class = ThrottledPasswordResetForm
    template_name = "registration/password_reset.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    def get_form_kwargs(self):
        return super().get_form_kwargs() | {"request": self.request}

    def form_valid(self, form):
        # The link in the e-mail leads to the desk's own address, whatever Host was asked.
        self.extra_email_context = {
            "site_url": settings.SITE_URL,
            "valid_for": _duration(settings.PASSWORD_RESET_TIMEOUT),
        }
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_sent.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs) | {"valid_for": _duration(settings.PASSWORD_RESET_TIMEOUT)}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_new.html"


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_finished.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    """Asks for the current password; keeps this session, and every other one of the user's
    ends (Django checks a hash of the password on each request)."""

    template_name = "registration/password_change.html"
    success_url = reverse_lazy("profile")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password has been changed; your other sessions are logged out.")
        return response
