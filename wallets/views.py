"""Wallet pages: balances, deposit, withdraw, history, and the withdrawal confirmation link."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.selectors import authenticated_user
from accounts.services import has_two_factor
from exchange.core.errors import DomainError, NotFound
from exchange.core.forms import add_domain_error
from exchange.core.money import parse_amount
from exchange.core.throttling import page_rate_limit
from wallets import selectors, services, withdrawals
from wallets.forms import SimulatedDepositForm, WithdrawForm
from wallets.models import Asset, Deposit, DepositStatus, Withdrawal


@login_required
def overview_view(request: HttpRequest) -> HttpResponse:
    user = authenticated_user(request)
    context = {
        "balances": selectors.balances_of(user=user),
        "transactions": list(selectors.transactions_of(user=user)[:10]),
    }
    return render(request, "wallets/overview.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def deposit_view(request: HttpRequest) -> HttpResponse:
    user = authenticated_user(request)
    asset = Asset.objects.filter(code=request.GET.get("asset", "BTC")).first() or Asset.objects.order_by("code").first()
    form = SimulatedDepositForm(request.POST or None, initial={"asset": asset.code if asset else ""})
    if request.method == "POST" and form.is_valid():
        try:
            chosen = services.asset_by_code(form.cleaned_data["asset"])
            amount = parse_amount(form.cleaned_data["amount"], asset=chosen)
            deposit = services.simulate_incoming_deposit(user_id=user.pk, asset=chosen, amount=amount)
        except DomainError as error:
            add_domain_error(form, error, "amount")
        else:
            messages.success(
                request,
                f"{deposit.amount.normalize():f} {chosen.code} is on its way: it is credited after "
                f"{chosen.confirmations_required} confirmation(s).",
            )
            return redirect(f"{request.path}?asset={chosen.code}")
    address = None
    address_error = ""
    if asset is not None:
        try:
            address = services.deposit_address(user_id=user.pk, asset=asset)  # created once, then reused
        except DomainError as error:
            address_error = error.message
    context = {
        "asset": asset,
        "assets": Asset.objects.order_by("code"),
        "address": address,
        "address_error": address_error,
        "form": form,
        "simulated": settings.SIMULATED_DEPOSITS,
        "pending": Deposit.objects.filter(user=user, status=DepositStatus.CONFIRMING).select_related("asset"),
        "held": Deposit.objects.filter(user=user, status=DepositStatus.HELD).select_related("asset"),
    }
    return render(request, "wallets/deposit.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@page_rate_limit("withdraw")
def withdraw_view(request: HttpRequest) -> HttpResponse:
    user = authenticated_user(request)
    form = WithdrawForm(request.POST or None, initial={"client_id": secrets.token_urlsafe(16)})
    if request.method == "POST" and form.is_valid():
        try:
            withdrawal = withdrawals.request_withdrawal(
                user=user,
                asset=services.asset_by_code(form.cleaned_data["asset"]),
                amount=form.cleaned_data["amount"],
                address=form.cleaned_data["address"],
                otp=form.cleaned_data["otp"] or None,
                client_id=form.cleaned_data["client_id"],
            )
        except DomainError as error:
            add_domain_error(form, error, "otp" if error.code.startswith("otp") else None)
        else:
            if withdrawal.status == "awaiting_confirmation":
                messages.success(request, "Check your email: confirm the withdrawal with the link we sent.")
            else:
                messages.success(request, "Withdrawal requested.")
            return redirect("wallets:withdrawal", withdrawal.pk)
    context = {
        "form": form,
        "balances": selectors.balances_of(user=user),
        "two_factor": has_two_factor(user),
        "assets": Asset.objects.order_by("code"),
    }
    return render(request, "wallets/withdraw.html", context)


@login_required
def history_view(request: HttpRequest) -> HttpResponse:
    user = authenticated_user(request)
    page = Paginator(selectors.transactions_of(user=user), 25).get_page(request.GET.get("page"))
    cancellable = set(
        Withdrawal.objects.filter(user=user, status__in=withdrawals.CANCELLABLE).values_list("pk", flat=True)
    )
    return render(request, "wallets/history.html", {"page": page, "cancellable": cancellable})


@login_required
def withdrawal_view(request: HttpRequest, withdrawal_id: int) -> HttpResponse:
    """One withdrawal: where it is, whether the confirmation email went out, what can be done."""
    withdrawal = selectors.access_withdrawal_by_id(user=authenticated_user(request), withdrawal_id=withdrawal_id)
    context = {
        "withdrawal": withdrawal,
        "cancellable": withdrawal.status in withdrawals.CANCELLABLE,
        "email": withdrawal.user.email,
    }
    return render(request, "wallets/withdrawal.html", context)


@login_required
@require_POST
@page_rate_limit("withdraw")
def withdrawal_resend_view(request: HttpRequest, withdrawal_id: int) -> HttpResponse:
    try:
        withdrawals.resend_confirmation(user=authenticated_user(request), withdrawal_id=withdrawal_id)
    except NotFound:
        raise  # someone else's, or none: the 404 page
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "A new confirmation email is on its way; the earlier link no longer works.")
    return redirect("wallets:withdrawal", withdrawal_id)


@login_required
@require_POST
def withdrawal_cancel_view(request: HttpRequest, withdrawal_id: int) -> HttpResponse:
    try:
        withdrawals.cancel_withdrawal(user=authenticated_user(request), withdrawal_id=withdrawal_id)
    except NotFound:
        raise  # someone else's, or none: the 404 page
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Withdrawal cancelled: the funds are back in your balance.")
    if request.POST.get("from") == "withdrawal":
        return redirect("wallets:withdrawal", withdrawal_id)
    return redirect("wallets:history")


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
        return redirect("wallets:withdrawal", withdrawal.pk)
    return render(request, "wallets/withdrawal_confirm.html", {"withdrawal": withdrawal, "token": token})
