from __future__ import annotations

from django import forms

from exchange.core.scopes import Scope


class ApiKeyForm(forms.Form):
    label = forms.CharField(max_length=64, help_text="So you know which program uses it.")
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[Scope.READ],
        help_text="Read is every GET; trade places and cancels orders; withdraw sends funds out.",
    )
    ip_whitelist = forms.CharField(
        required=False,
        label="IP whitelist",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "203.0.113.7, 198.51.100.0/24"}),
        help_text="Addresses or CIDR ranges, separated by commas or new lines. Empty: any address.",
    )
    expires_at = forms.DateTimeField(
        required=False,
        label="Expires",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Optional.",
    )
    otp = forms.CharField(
        required=False,
        max_length=32,
        label="Authenticator code",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )

    def whitelist(self) -> list[str]:
        raw: str = self.cleaned_data.get("ip_whitelist") or ""
        return [entry.strip() for entry in raw.replace("\n", ",").split(",") if entry.strip()]
