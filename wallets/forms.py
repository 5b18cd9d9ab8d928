"""Wallet page forms: they parse input; wallets.services and wallets.withdrawals hold the rules."""

from __future__ import annotations

from django import forms

from wallets.models import Asset


def _asset_choices() -> list[tuple[str, str]]:
    return [(a.code, f"{a.code} · {a.name}") for a in Asset.objects.order_by("code")]


class SimulatedDepositForm(forms.Form):
    asset = forms.ChoiceField(choices=_asset_choices)
    amount = forms.CharField(max_length=40, widget=forms.TextInput(attrs={"inputmode": "decimal"}))


class WithdrawForm(forms.Form):
    asset = forms.ChoiceField(choices=_asset_choices)
    amount = forms.CharField(
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text="What leaves your balance; the network fee is taken from it.",
    )
    address = forms.CharField(
        label="Destination address", max_length=128, widget=forms.TextInput(attrs={"spellcheck": "false"})
    )
    # A fresh random value per form shown: submitting the same form twice is caught.
    client_id = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)
    otp = forms.CharField(
        label="Two-factor code",
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
