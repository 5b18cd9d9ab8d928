"""What the pages' forms share: a service's error shown on the fields it names."""

from __future__ import annotations

from django import forms

from exchange.core.errors import DomainError


def add_domain_error(form: forms.Form, error: DomainError, default_field: str | None = None) -> None:
    """Attach a service error to the form fields it names, or to the form as a whole."""
    placed = False
    for field, field_messages in error.details.items():
        if field in form.fields and isinstance(field_messages, list):
            for message in field_messages:
                form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(default_field, error.message)
