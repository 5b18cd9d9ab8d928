"""Account pages: register, log in (password, then a code when 2FA is on), log out, security."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from accounts import audit, login_guard, services
from accounts.forms import LoginForm, OtpForm, PasswordChangeForm, RegisterForm
from accounts.models import User
from accounts.selectors import authenticated_user
from exchange.core import client_address
from exchange.core.errors import DomainError
from exchange.core.forms import add_domain_error
from exchange.core.throttling import page_rate_limit

PENDING_LOGIN_KEY = "login_pending"
BACKEND = "django.contrib.auth.backends.ModelBackend"


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


@require_http_methods(["GET", "POST"])
@page_rate_limit("register")
def register_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.register_user(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            login(request, user, backend=BACKEND)
            messages.success(request, f"Welcome, {user.username}. Protect your account with two-factor authentication.")
            return redirect("accounts:security")
    return render(request, "accounts/register.html", {"form": form})


@require_http_methods(["GET", "POST"])
@page_rate_limit("login")
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated:
        return HttpResponseRedirect(next_url)
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            step = services.check_password(
                request=request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            if step.needs_code and step.user is not None:
                # The session stays anonymous until the code is right too. Under attack this step is
                # reached with a wrong password as well, and the code step says which only at the end.
                request.session[PENDING_LOGIN_KEY] = {
                    "user_id": step.user.pk,
                    "at": time.time(),
                    "next": next_url,
                    "username": step.attempt.username,
                    "password_ok": step.password_ok,
                    "under_attack": step.attempt.under_attack,
                }
                return redirect("accounts:login-code")
            if step.user is not None:
                login(request, step.user, backend=BACKEND)
                return HttpResponseRedirect(next_url)
    return render(request, "accounts/login.html", {"form": form, "next": next_url})


@require_http_methods(["GET", "POST"])
@page_rate_limit("otp")
def login_code_view(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING_LOGIN_KEY)
    if not pending or time.time() - pending["at"] > settings.LOGIN_OTP_STEP_SECONDS:
        request.session.pop(PENDING_LOGIN_KEY, None)
        messages.info(request, "Please sign in again.")
        return redirect("accounts:login")
    user = User.objects.filter(pk=pending["user_id"], is_active=True).first()
    if user is None:
        request.session.pop(PENDING_LOGIN_KEY, None)
        return redirect("accounts:login")
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        attempt = login_guard.Attempt(
            username=pending.get("username", user.username),
            address=client_address.of_request(request),
            under_attack=pending.get("under_attack", False),
        )
        # Pending logins written before the policy came in were written after a right password only.
        step = services.PasswordStep(
            attempt=attempt, user=user, password_ok=pending.get("password_ok", True), needs_code=True
        )
        try:
            device = services.pass_second_factor(step=step, code=form.cleaned_data["otp"])
        except services.InvalidCredentials:
            request.session.pop(PENDING_LOGIN_KEY, None)
            messages.error(request, "The password or the code is wrong: sign in again.")
            return redirect("accounts:login")
        except DomainError as error:
            form.add_error("otp", error.message)
        else:
            del request.session[PENDING_LOGIN_KEY]
            login(request, user, backend=BACKEND)
            otp_login(request, device)
            return HttpResponseRedirect(_safe_next(request, pending.get("next")))
    return render(request, "accounts/login_code.html", {"form": form, "pending_user": user})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect("home")


@login_required
@require_http_methods(["GET", "POST"])
@page_rate_limit("otp")
def security_view(request: HttpRequest) -> HttpResponse:
    """Show and change the security settings: two-factor authentication and the password."""
    user = authenticated_user(request)
    otp_form = OtpForm(prefix="otp")
    password_form = PasswordChangeForm(prefix="pw")
    backup_codes: list[str] | None = None
    action = request.POST.get("action")

    if request.method == "POST":
        if action == "2fa-start":
            try:
                services.start_two_factor_setup(user=user)
            except DomainError as error:
                messages.error(request, error.message)
            return redirect("accounts:security")
        if action == "2fa-cancel":
            services.cancel_two_factor_setup(user=user)
            return redirect("accounts:security")
        if action in {"2fa-verify", "2fa-disable"}:
            otp_form = OtpForm(request.POST, prefix="otp")
            if otp_form.is_valid():
                code = otp_form.cleaned_data["otp"]
                try:
                    if action == "2fa-verify":
                        backup_codes = services.confirm_two_factor(user=user, code=code)
                        otp_login(request, services.confirmed_totp_device(user=user))
                        messages.success(request, "Two-factor authentication is on.")
                    else:
                        services.disable_two_factor(user=user, code=code)
                        messages.success(request, "Two-factor authentication is off.")
                        return redirect("accounts:security")
                except DomainError as error:
                    add_domain_error(otp_form, error, "otp")
        elif action == "password":
            password_form = PasswordChangeForm(request.POST, prefix="pw")
            if password_form.is_valid():
                try:
                    services.change_password(
                        user=user,
                        old_password=password_form.cleaned_data["old_password"],
                        new_password=password_form.cleaned_data["new_password"],
                    )
                except DomainError as error:
                    add_domain_error(password_form, error)
                else:
                    update_session_auth_hash(request, user)  # keep this session, end the others
                    messages.success(request, "Your password is changed. Other sessions are signed out.")
                    return redirect("accounts:security")

    context = {
        "status": services.two_factor_status(user=user),
        "setup": services.pending_setup(user=user),
        "otp_form": otp_form,
        "password_form": password_form,
        "backup_codes": backup_codes,
        "open_form": action,
        "activity": audit.recent_activity(user=user),
    }
    return render(request, "accounts/security.html", context)
