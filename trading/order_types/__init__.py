"""The order types: each module of this package is one type, found by its name.

A type (a subclass of `OrderKind`, one per module) says what an order of it is made of and how it
is taken in: which of the common fields it uses and on which sides (the API, the trade page's form
and its script read this), the amounts of its own it carries (`params`, kept in `Order.params`),
what a request of it must and must not give (`validate`), what it holds while it is live (`hold`),
how the engine sees it (`engine_order`) and, when the core ends it early, why (`expiry`). A type
that waits off the book until something happens (a stop) also names its engine part, a pure object
from `trading.engine.parts` that the engine consults in sequence.

Adding a type is its module here, its engine part in `trading/engine/` when it has one, and its
tests (CONTRIBUTING.md, "Add an order type"). Nothing else lists the types: the registry below is
filled by importing every module of this package that is not private.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from exchange.core import money
from exchange.core.errors import ValidationFailed
from trading.engine import Order as EngineOrder
from trading.engine import SelfTrade as EngineSelfTrade
from trading.engine import Side as EngineSide
from trading.engine import TimeInForce as EngineTimeInForce
from trading.engine.parts import EnginePart
from trading.engine.settlement import EXPIRED, Live
from trading.models import SelfTradePrevention, TimeInForce

if TYPE_CHECKING:
    from trading.engine.spec import MarketSpec
    from trading.models import Market
    from wallets.models import Asset

BOTH_SIDES = ("buy", "sell")


@dataclass(frozen=True)
class OrderRequest:
    """What a trader asks for, as received (amounts still strings)."""

    symbol: str
    side: str
    type: str
    price: object = None
    quantity: object = None
    quote_quantity: object = None
    time_in_force: str = TimeInForce.GTC
    post_only: bool = False
    self_trade_prevention: str = SelfTradePrevention.CANCEL_TAKER
    client_order_id: str = ""
    params: dict[str, object] = field(default_factory=dict)  # the type's own fields, as received


@dataclass(frozen=True)
class ValidOrder:
    """An order request checked against its market, amounts parsed."""

    side: str
    type: str
    price: Decimal | None
    quantity: Decimal | None
    quote_quantity: Decimal | None
    time_in_force: str
    post_only: bool
    self_trade_prevention: str
    client_order_id: str
    params: dict[str, str] = field(default_factory=dict)  # the type's own amounts, as exact strings


@dataclass(frozen=True)
class Param:
    """An amount of a type's own (a stop price, say): a decimal string on the API, kept in `Order.params`."""

    name: str
    label: str
    help_text: str
    sides: tuple[str, ...] = BOTH_SIDES


def refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details={field: [message]})


def given(value: Decimal | None) -> Decimal:
    """The amount `validate` made sure of (a bug if it is missing)."""
    if value is None:
        raise TypeError("an amount validate() requires is missing")
    return value


def on_step(value: Decimal, step: Decimal, field: str, what: str) -> Decimal:
    """Return `value` if it is a whole multiple of `step`, else refuse it at `field`."""
    if money.MONEY.remainder(value, step):
        raise refuse(field, f"{field} must be a multiple of the market's {what} ({step.normalize():f}).")
    return value


def amount(raw: object, field: str) -> Decimal:
    return money.parse_decimal(raw, field=field, what=field)


class OrderKind:
    """One order type. Subclass it in a module of this package; one instance is registered by `name`."""

    name: ClassVar[str]
    label: ClassVar[str]
    position: ClassVar[int] = 100  # where it is listed (choices, the page's tabs): lowest first
    # The common fields an order of this type may carry, each with the sides it applies to: the page's
    # form shows a field only for the types (and sides) that use it, and leaves the others out.
    uses: ClassVar[dict[str, tuple[str, ...]]] = {}
    params: ClassVar[tuple[Param, ...]] = ()
    rests: ClassVar[bool] = True  # may rest on the book (good-till-cancelled applies)
    # The class of the type's engine part (trading.engine.parts), one per market engine; None when
    # the type goes straight to the book.
    engine_part: ClassVar[type[EnginePart] | None] = None
    # The status an order has while its engine part keeps it off the book.
    waiting_status: ClassVar[str | None] = None

    def validate(self, request: OrderRequest, market: Market, order: ValidOrder) -> ValidOrder:
        """Check what this type requires of `request`; `order` has the common fields parsed already.

        Return the order completed (its price, time in force and params as the type decides), or
        raise ValidationFailed naming the field.
        """
        raise NotImplementedError

    def hold(self, market: Market, order: ValidOrder) -> tuple[Asset, Decimal]:
        """Return what the order locks while it is live: the asset and the amount."""
        raise NotImplementedError

    def engine_params(self, params: Mapping[str, str], spec: MarketSpec) -> dict[str, int]:
        """Return the type's own amounts as its engine part takes them (prices in ticks)."""
        return {}

    def engine_order(self, live: Live, spec: MarketSpec) -> EngineOrder:
        """Return the order as the book takes it: what is left of it, in lots, at its price in ticks."""
        if live.price is not None:
            live.ticks = spec.ticks(live.price)
        return EngineOrder(
            id=live.pk,
            user=live.user_id,
            side=ENGINE_SIDES[live.side],
            quantity=0 if live.quantity is None else spec.lots(live.quantity - live.filled_quantity),
            price=None if live.price is None else live.ticks,
            time_in_force=ENGINE_TIMES_IN_FORCE[live.time_in_force],
            post_only=live.post_only,
            self_trade=ENGINE_SELF_TRADE[live.self_trade],
        )

    def expiry(self, live: Live, spec: MarketSpec) -> tuple[str, str]:
        """Return the status and reason of an order the book ended early: what is left of an IOC or FOK."""
        return EXPIRED, "fill_or_kill" if live.time_in_force == TimeInForce.FOK else "immediate_or_cancel"


# Per order, a dict lookup is cheaper than calling an Enum.
ENGINE_SIDES = {side.value: side for side in EngineSide}
ENGINE_TIMES_IN_FORCE = {tif.value: tif for tif in EngineTimeInForce}
ENGINE_SELF_TRADE = {stp.value: stp for stp in EngineSelfTrade}


KINDS: dict[str, OrderKind] = {}


def register(kind: OrderKind) -> OrderKind:
    if kind.name in KINDS:
        raise RuntimeError(f"order type {kind.name!r} is registered twice")
    KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Remove a type (tests that register one of their own put things back with this)."""
    KINDS.pop(name, None)


def get(name: str) -> OrderKind | None:
    return KINDS.get(name)


def label(name: str) -> str:
    """The type's name for people (an order of a type no longer registered keeps its own name)."""
    kind = KINDS.get(name)
    return name.replace("_", " ").capitalize() if kind is None else kind.label


def ordered() -> list[OrderKind]:
    return sorted(KINDS.values(), key=lambda kind: (kind.position, kind.name))


def choices() -> list[tuple[str, str]]:
    return [(kind.name, kind.label) for kind in ordered()]


def names_text() -> str:
    names = [kind.name for kind in ordered()]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def params() -> dict[str, Param]:
    """Every type's own fields by name (two types may share one, such as a stop price)."""
    return {param.name: param for kind in ordered() for param in kind.params}


class EngineParts:
    """One market engine's parts of the types that wait off the book (trading.engine.parts), by type.

    The engine asks it in sequence: whether a new order waits (`take`), to keep a waiting one again
    on a rebuild (`restore`), to let one go on a cancel (`cancel`), and which are due after a command
    that traded (`released`). With no such type registered, each answer is one dict lookup.

    Types that name the same engine part class share one instance of it: the stop and take-profit
    types keep their orders together (trading.engine.triggers), so that one trade releases them in
    the part's own order (price, then time) rather than type by type.
    """

    def __init__(self, spec: MarketSpec) -> None:
        self.spec = spec
        shared: dict[type[EnginePart], EnginePart] = {}
        self.parts = {
            kind.name: shared.setdefault(kind.engine_part, kind.engine_part())
            for kind in ordered()
            if kind.engine_part is not None
        }
        self.instances = list(shared.values())

    def waiting_status(self, type_name: str) -> str | None:
        kind = KINDS.get(type_name)
        return None if kind is None else kind.waiting_status

    def take(self, type_name: str, order: EngineOrder, params: Mapping[str, str], last_price: int | None) -> bool:
        part = self.parts.get(type_name)
        return part is not None and part.take(order, KINDS[type_name].engine_params(params, self.spec), last_price)

    def restore(self, type_name: str, order: EngineOrder, params: Mapping[str, str]) -> bool:
        """Keep a waiting order again; False when no registered type waits with it (the engine must stop)."""
        part = self.parts.get(type_name)
        if part is None:
            return False
        part.restore(order, KINDS[type_name].engine_params(params, self.spec))
        return True

    def cancel(self, order_id: int) -> bool:
        return any(part.cancel(order_id) for part in self.instances)

    def released(self, last_price: int) -> list[EngineOrder]:
        """The orders due now: one part's in its own order; of several parts, in sequence order (ids)."""
        if not self.instances:
            return []
        due = [order for part in self.instances for order in part.released(last_price)]
        return sorted(due, key=lambda order: order.id) if len(self.instances) > 1 else due


def _discover() -> None:
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            imported = importlib.import_module(f"{__name__}.{module.name}")
            for value in vars(imported).values():
                is_kind = isinstance(value, type) and issubclass(value, OrderKind) and value is not OrderKind
                if is_kind and value.__module__ == imported.__name__ and "name" in vars(value):
                    register(value())


_discover()
