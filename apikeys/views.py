"""The API keys page: create (the secret is shown once, on the page that follows), list, revoke."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.selectors import authenticated_user
from accounts.services import has_two_factor
from apikeys import services
from apikeys.forms import ApiKeyForm
from apikeys.models import ApiKey
from exchange.core.errors import DomainError
from exchange.core.forms import add_domain_error
from exchange.core.throttling import page_rate_limit


@login_required
@require_http_methods(["GET", "POST"])
@page_rate_limit("otp")
def keys_view(request: HttpRequest) -> HttpResponse:
    user = authenticated_user(request)
    form = ApiKeyForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created = services.create_key(
                user=user,
                label=form.cleaned_data["label"],
                scopes=form.cleaned_data["scopes"],
                ip_whitelist=form.whitelist(),
                expires_at=form.cleaned_data.get("expires_at"),
                otp=form.cleaned_data.get("otp") or None,
            )
        except DomainError as error:
            add_domain_error(form, error, default_field="otp" if error.code.startswith("otp") else None)
        else:
            form = ApiKeyForm()  # the secret is in this response only: no redirect
    context = {
        "form": form,
        "created": created,
        "keys": ApiKey.objects.filter(user=user),
        "two_factor": has_two_factor(user),
    }
    return render(request, "apikeys/keys.html", context)


@login_required
@require_POST
def revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    revoked = services.revoke_key(user=authenticated_user(request), key_id=key_id)
    messages.success(request, f"API key “{revoked.label}” is revoked: it works no more.")
    return redirect("apikeys:keys")
