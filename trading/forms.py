"""Trade page forms: they parse input; trading.services holds the rules of a market."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from django import forms

from trading.models import Market, OrderType, Side, TimeInForce
from trading.services import OrderRequest


def new_request_id() -> str:
    """Return a fresh client order id for one form shown (a second submit of it is not a second order)."""
    return f"web-{secrets.token_urlsafe(16)}"


def _amount_input(placeholder: str = "0") -> forms.TextInput:
    return forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": placeholder})


def _step(value: Decimal) -> str:
    return f"{value.normalize():f}"


class OrderForm(forms.Form):
    side = forms.ChoiceField(choices=Side.choices, initial=Side.BUY, widget=forms.RadioSelect)
    type = forms.ChoiceField(
        label="Order type", choices=OrderType.choices, initial=OrderType.LIMIT, widget=forms.RadioSelect
    )
    price = forms.CharField(max_length=40, required=False, widget=_amount_input())
    quantity = forms.CharField(max_length=40, required=False, widget=_amount_input())
    quote_quantity = forms.CharField(max_length=40, required=False, widget=_amount_input())
    time_in_force = forms.ChoiceField(label="Time in force", choices=TimeInForce.choices, initial=TimeInForce.GTC)
    post_only = forms.BooleanField(label="Post-only", required=False)
    # Named so that a service error about client_order_id lands on the form, not on this hidden field.
    request_id = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, market: Market, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("request_id", new_request_id())
        super().__init__(*args, **kwargs)
        base, quote = market.base.code, market.quote.code
        self.market = market
        self.fields["price"].label = f"Price ({quote})"
        self.fields["price"].help_text = f"Limit orders; a multiple of {_step(market.tick_size)} {quote}."
        self.fields["quantity"].label = f"Quantity ({base})"
        lot, minimum = _step(market.lot_size), _step(market.min_quantity)
        self.fields["quantity"].help_text = f"A multiple of {lot} {base}; at least {minimum} {base}."
        self.fields["quote_quantity"].label = f"Spend ({quote})"
        self.fields["quote_quantity"].help_text = f"Market buys only, instead of a quantity: what to spend in {quote}."
        self.fields["post_only"].help_text = "Only ever rests on the book, never takes."

    def order_request(self) -> OrderRequest:
        """Return what the trader asked for; fields that do not belong to the order type are left out."""
        data = self.cleaned_data
        limit = data["type"] == OrderType.LIMIT
        return OrderRequest(
            symbol=self.market.symbol,
            side=data["side"],
            type=data["type"],
            price=data["price"] if limit else None,
            quantity=data["quantity"] or None,
            quote_quantity=None if limit else data["quote_quantity"] or None,
            time_in_force=data["time_in_force"],
            post_only=data["post_only"],
            client_order_id=data["request_id"],
        )
