"""Trade page forms: they parse input; trading.services holds the rules of a market."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from django import forms

from trading import order_types
from trading.models import Market, Side, TimeInForce
from trading.order_types import OrderRequest


def new_request_id() -> str:
    """Return a fresh client order id for one form shown (a second submit of it is not a second order)."""
    return f"web-{secrets.token_urlsafe(16)}"


def _amount_input(placeholder: str = "0") -> forms.TextInput:
    return forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": placeholder})


def _step(value: Decimal) -> str:
    return f"{value.normalize():f}"


COMMON_FIELDS = ("price", "quantity", "quote_quantity", "post_only")  # those an order type may or may not use


def _sides(kind: order_types.OrderKind, field: str) -> tuple[str, ...]:
    """The sides on which orders of `kind` use `field`."""
    for param in kind.params:
        if param.name == field:
            return param.sides
    return kind.uses.get(field, ())


class OrderForm(forms.Form):
    side = forms.ChoiceField(choices=Side.choices, initial=Side.BUY, widget=forms.RadioSelect)
    type = forms.ChoiceField(label="Order type", choices=order_types.choices, initial="limit", widget=forms.RadioSelect)
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
        for name, param in order_types.params().items():
            self.fields[name] = forms.CharField(
                label=f"{param.label} ({quote})",
                help_text=param.help_text,
                max_length=40,
                required=False,
                widget=_amount_input(),
            )
        # For each field that only some types use: the "type:side" pairs it is shown for (the page's
        # script shows and sends a field only for those).
        self.shown_for = {
            name: " ".join(f"{kind.name}:{side}" for kind in order_types.ordered() for side in _sides(kind, name))
            for name in [*COMMON_FIELDS, *order_types.params()]
        }
        self.resting_types = " ".join(kind.name for kind in order_types.ordered() if kind.rests)

    def param_fields(self) -> list[tuple[forms.BoundField, str]]:
        """The bound fields of the types' own amounts, each with the pairs it is shown for."""
        return [(self[name], self.shown_for[name]) for name in order_types.params()]

    def order_request(self) -> OrderRequest:
        """Return what the trader asked for; fields that do not belong to the order type are left out."""
        data = self.cleaned_data
        kind = order_types.get(data["type"])

        def used(name: str) -> object:
            return data[name] or None if kind is not None and data["side"] in _sides(kind, name) else None

        params = {param.name: used(param.name) for param in kind.params} if kind is not None else {}
        return OrderRequest(
            symbol=self.market.symbol,
            side=data["side"],
            type=data["type"],
            price=used("price"),
            quantity=used("quantity"),
            quote_quantity=used("quote_quantity"),
            time_in_force=data["time_in_force"],
            post_only=bool(used("post_only")),
            client_order_id=data["request_id"],
            params={name: value for name, value in params.items() if value is not None},
        )
