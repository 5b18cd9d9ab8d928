"""Wallet pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.selectors import authenticated_user
from exchange.errors import DomainError
from wallets import selectors, withdrawals


@login_required
@require_http_methods(["GET", "POST"])
def withdrawal_confirm_view(request: HttpRequest, withdrawal_id: int) -> HttpResponse:
    """The email link: GET shows what is confirmed (mail scanners follow links), POST confirms it."""
    withdrawal = selectors.access_withdrawal_by_id(user=authenticated_user(request), withdrawal_id=withdrawal_id)
    token = request.POST.get("token") or request.GET.get("token") or ""
    if request.method == "POST":
        try:
            withdrawals.confirm_withdrawal(withdrawal_id=withdrawal.pk, token=token)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Withdrawal confirmed.")
        return redirect("wallets:overview")
    return render(request, "wallets/withdrawal_confirm.html", {"withdrawal": withdrawal, "token": token})


@login_required
def overview_view(request: HttpRequest) -> HttpResponse:
    user = authenticated_user(request)
    context = {
        "balances": selectors.balances_of(user=user),
        "transactions": list(selectors.transactions_of(user=user)[:20]),
    }
    return render(request, "wallets/overview.html", context)
