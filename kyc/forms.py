"""KYC page forms: they parse input; kyc.services holds the rules."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms
from django_countries import countries

from kyc.models import DocumentType


class DetailsForm(forms.Form):
    full_name = forms.CharField(
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        help_text="As it appears on your identity document.",
    )
    date_of_birth = forms.DateField(widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}))
    country = forms.ChoiceField(
        label="Country of residence", choices=[("", "Choose a country"), *[(c.code, c.name) for c in countries]]
    )
    address = forms.CharField(
        label="Residential address",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
    )


class DocumentForm(forms.Form):
    document_type = forms.ChoiceField(label="Document", choices=DocumentType.choices)
    file = forms.FileField(
        label="File",
        help_text="JPEG, PNG or PDF, at most 10 MB. A selfie must be a photo.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"}),
    )

    def __init__(self, *args: object, allowed: Sequence[str] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if allowed is not None:
            self.fields["document_type"].choices = [  # type: ignore[attr-defined]
                (value, label) for value, label in DocumentType.choices if value in allowed
            ]
