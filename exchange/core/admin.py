"""What the admin's screens share: amounts at their asset's precision with a USDT value, and "are you sure?" pages.

An amount column is NUMERIC(36, 18); printed as it is, a bitcoin balance reads 1757.499999999999999998.
Operators read it at the asset's own precision with thousands separators, and what it is worth in USDT
beside it, priced the way the traders' dashboard prices balances: by the function the ADMIN_ASSET_PRICES
setting names (trading.portfolio.asset_prices), so that this module, below every app, imports none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.module_loading import import_string
from django.utils.safestring import SafeString

from exchange.core.errors import DomainError
from exchange.core.money import VALUATION_ASSET, multiply, quantize


class AssetLike(Protocol):
    """What an amount column needs of its asset (wallets.models.Asset is one)."""

    code: str
    decimals: int


def format_amount(amount: Decimal, *, decimals: int) -> str:
    """Return the amount at `decimals` places with thousands separators: "1,757.50000000"."""
    return f"{quantize(amount, decimals, rounding=ROUND_HALF_EVEN):,f}"


def format_usdt(value: Decimal) -> str:
    """Return a USDT value in cents with thousands separators: "74,070,000.00"."""
    return f"{quantize(value, 2, rounding=ROUND_HALF_UP):,f}"


class UsdtPrices:
    """The USDT price of one unit of each asset, read once (two queries, when first needed) for a whole page."""

    def __init__(self) -> None:
        self._assets: dict[str, tuple[int, Decimal | None]] | None = None

    def _asset(self, code: str) -> tuple[int | None, Decimal | None]:
        if self._assets is None:
            self._assets = import_string(settings.ADMIN_ASSET_PRICES)()  # code -> (decimals, price or None)
        return self._assets.get(code, (None, None))

    def decimals(self, code: str) -> int | None:
        """Return the precision of the asset with this code (for records that name their asset by code)."""
        return self._asset(code)[0]

    def value(self, code: str, amount: Decimal) -> Decimal | None:
        """Return what `amount` of the asset is worth in USDT, or None if it has no price."""
        price = self._asset(code)[1]
        return None if price is None else multiply(amount, price)


def money(
    amount: Decimal | None, asset: AssetLike | None, prices: UsdtPrices | None = None, *, code: bool = False
) -> SafeString | str:
    """Return an amount of an asset as HTML: at its precision (and its code), with its USDT value below."""
    if amount is None or asset is None:
        return "—"
    number = format_amount(amount, decimals=asset.decimals) + (f" {asset.code}" if code else "")
    value = None if asset.code == VALUATION_ASSET else (prices or UsdtPrices()).value(asset.code, amount)
    if value is None:
        return format_html('<span class="money">{}</span>', number)
    return format_html(
        '<span class="money">{}<span class="money-usdt">≈ {} USDT</span></span>', number, format_usdt(value)
    )


def money_text(amount: Decimal, asset: AssetLike, prices: UsdtPrices | None = None) -> str:
    """Return an amount for a sentence: "2.50000000 BTC (≈ 150,000.00 USDT)"."""
    text = f"{format_amount(amount, decimals=asset.decimals)} {asset.code}"
    value = None if asset.code == VALUATION_ASSET else (prices or UsdtPrices()).value(asset.code, amount)
    return text if value is None else f"{text} (≈ {format_usdt(value)} USDT)"


def usdt(value: Decimal | None) -> SafeString | str:
    """Return a USDT value (one already stored with the record) as HTML, in cents."""
    return "—" if value is None else format_html('<span class="money">{}</span>', format_usdt(value))


def with_prices(display: Callable[..., Any], prices: UsdtPrices) -> Callable[[Any], Any]:
    """Return a list column calling `display(obj, prices)`, with the display method's label and ordering."""

    def column(obj: Any) -> Any:
        return display(obj, prices)

    column.__name__ = display.__name__
    for attribute in ("short_description", "admin_order_field", "empty_value_display"):
        if hasattr(display, attribute):
            setattr(column, attribute, getattr(display, attribute))
    return column


class PricedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A ModelAdmin whose display methods named in `priced_columns` take the prices: `(obj, prices=None)`.

    A list page reads the prices once and hands them to every row (a ModelAdmin is shared by every
    request, so they are bound per request, never kept on it); a change page reads them when shown.
    """

    priced_columns: tuple[str, ...] = ()

    def get_list_display(self, request: HttpRequest) -> Any:
        columns = super().get_list_display(request)
        if not self.priced_columns:
            return columns
        prices = UsdtPrices()
        return [
            with_prices(getattr(self, name), prices) if isinstance(name, str) and name in self.priced_columns else name
            for name in columns
        ]


class ReadOnlyAdmin(PricedAdmin):
    """A record kept as it happened (ledger entries, audit lines): shown, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- "Are you sure?" before an admin action moves money ---------------------------------------------


@dataclass(frozen=True)
class ConfirmationLine:
    """One selected record, as the confirmation page lists it."""

    label: str
    link: str
    detail: SafeString | str


def confirmed(request: HttpRequest) -> bool:
    """Return whether this POST comes from the confirmation page's "Yes" button."""
    return request.POST.get("post") == "yes"


def confirmation_page(
    modeladmin: admin.ModelAdmin[Any],
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    question: str,
    consequence: str,
    lines: Iterable[ConfirmationLine],
    button: str,
    form: forms.Form | None = None,
) -> TemplateResponse:
    """Return the intermediate page of an action: what is selected, what will happen, a form if it takes one.

    It posts the action and the selection back with `post=yes`; the action then runs for real.
    """
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": question,
        "subtitle": None,
        "question": question,
        "consequence": consequence,
        "lines": list(lines),
        "button": button,
        "form": form,
        "opts": opts,
        "action": request.POST.get("action", ""),
        "selected": [str(pk) for pk in queryset.values_list("pk", flat=True)],
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "admin/confirm_action.html", context)


def change_link(obj: Model) -> str:
    """Return the admin URL of a record's change (or view) page."""
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def decide_each(
    modeladmin: admin.ModelAdmin[Any],
    request: HttpRequest,
    records: Iterable[Model],
    decide: Callable[[Model], object],
    *,
    noun: str,
    done: str,
) -> None:
    """Carry out an action's decision record by record, through its service; say how many went through.

    A record the service refuses (a colleague decided it a moment earlier, say) is reported by its
    number and the others go on: never a server error for one of them.
    """
    count = 0
    for record in records:
        try:
            if decide(record) is not False:
                count += 1
        except DomainError as error:
            modeladmin.message_user(request, f"#{record.pk}: {error.message}", messages.ERROR)
    modeladmin.message_user(request, f"{plural(count, noun)} {done}.")


def plural(count: int, word: str, words: str | None = None) -> str:
    """Return "1 transfer" or "3 transfers"."""
    return f"{count} {word if count == 1 else (words or word + 's')}"
