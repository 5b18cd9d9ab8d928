"""What the book's events do to balances, holds and orders: settlement, pure Python, no Django.

The book (book.py) says that orders traded, rested or ended; `Settlement` turns each event into the
batch's changes: the net balance change of every ledger account touched (`Batch.deltas`, keyed by
user, asset and account kind), each order's fills, fee, hold and status, the trades to write, and
the book's depth per price level. The database shell (trading.matching) feeds it the events in
sequence and writes the batch in one transaction.

Settlement of a trade of `q` base at price `p` (notional `n = p x q`), fees in the asset received,
rounded up to the asset's quantum: the buyer's locked quote -n, the buyer's available base
+(q - buyer fee), the seller's locked base -q, the seller's available quote +(n - seller fee), fee
revenue +both fees. A release moves what is left of a hold from locked back to available. So each
batch's postings sum to zero per asset, fees are never negative, and a hold never goes below zero
as long as it covered the order (the order types' holds do; test_settlement.py checks all three).

Statuses and account kinds are the database's own strings (trading.models.OrderStatus,
wallets.models.AccountKind); test_settlement.py checks that they agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from types import MappingProxyType
from typing import Any

from trading.engine.book import Done, DoneReason, Rested, Side, Trade
from trading.engine.spec import MarketSpec

AVAILABLE, LOCKED, FEES = "user_available", "user_locked", "fee_revenue"
OPEN, PARTIALLY_FILLED, FILLED = "open", "partially_filled", "filled"
CANCELLED, EXPIRED, REJECTED = "cancelled", "expired", "rejected"
RESTING = (OPEN, PARTIALLY_FILLED)
BUY = Side.BUY
SIDE_VALUES = {side: side.value for side in Side}  # `.value` of an Enum member is a descriptor call

# The params of an order that has none, which is most: one shared, read-only mapping, not a dict each.
NO_PARAMS: Mapping[str, str] = MappingProxyType({})

AccountKey = tuple[int | None, int, str]  # (user, or None for the exchange's own; asset; account kind)


class Live:
    """What the engine tracks of an order it is working on (in a batch, resting, or waiting off the book)."""

    __slots__ = (
        "fee",
        "filled_quantity",
        "filled_quote",
        "hold_remaining",
        "is_buy",
        "last_price_ticks",
        "params",
        "pk",
        "post_only",
        "price",
        "quantity",
        "quote_sized",
        "reason",
        "resting",
        "self_trade",
        "side",
        "status",
        "ticks",
        "time_in_force",
        "type",
        "user_id",
    )

    def __init__(
        self,
        *,
        pk: int,
        user_id: int,
        side: str,
        type: str,
        price: Decimal | None,
        quantity: Decimal | None,
        quote_sized: bool,
        time_in_force: str,
        post_only: bool,
        self_trade: str,
        hold_remaining: Decimal,
        filled_quantity: Decimal,
        filled_quote: Decimal,
        fee: Decimal,
        status: str,
        params: Mapping[str, str],
    ) -> None:
        self.pk, self.user_id, self.side, self.type = pk, user_id, side, type
        self.price, self.quantity, self.quote_sized = price, quantity, quote_sized
        self.time_in_force, self.post_only, self.self_trade = time_in_force, post_only, self_trade
        self.hold_remaining, self.filled_quantity, self.filled_quote, self.fee = (
            hold_remaining,
            filled_quantity,
            filled_quote,
            fee,
        )
        self.status, self.params = status, params
        self.reason = ""
        self.resting = status in RESTING
        self.last_price_ticks = 0  # the price of its last fill, in ticks
        self.is_buy = side == "buy"
        self.ticks = 0  # its limit price in ticks (set with its engine order; 0 for a market order)


@dataclass
class Batch:
    """Everything one batch changes, gathered before the write."""

    touched: dict[int, Live] = field(default_factory=dict)
    # One row per trade: price, quantity, notional, taker side, maker and taker order, maker and taker
    # user, maker and taker fee.
    trades: list[tuple[Any, ...]] = field(default_factory=list)
    deltas: dict[AccountKey, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    levels: set[tuple[str, int]] = field(default_factory=set)  # the (side, ticks) levels it changed
    commands: int = 0
    last_price: Decimal | None = None


# What an order that expired ends as (status, reason): its type decides (trading.order_types).
Expiry = Callable[[Live], tuple[str, str]]


class Settlement:
    """One market's working orders and depth, and what each book event changes of them in a batch."""

    def __init__(self, spec: MarketSpec, expiry: Expiry) -> None:
        self.spec = spec
        self.expiry = expiry
        self.live: dict[int, Live] = {}
        self.level_totals: dict[tuple[str, int], int] = defaultdict(int)  # lots resting per (side, ticks)

    def rested(self, live: Live, lots: int) -> None:
        """Count an order rebuilt onto the book (no batch: nothing changed)."""
        self.live[live.pk] = live
        self.level_totals[(live.side, live.ticks)] += lots

    def apply(self, event: object, batch: Batch, *, taker: Live | None) -> None:
        """Apply one book event; `taker` is the order being placed, None for a cancel."""
        if isinstance(event, Trade):
            self.settle(event, batch)
        elif isinstance(event, Rested):
            live = self.live[event.order]
            live.resting = True
            live.status = PARTIALLY_FILLED if live.filled_quantity else OPEN
            key = (live.side, live.ticks)
            self.level_totals[key] += event.quantity
            batch.levels.add(key)
        elif isinstance(event, Done):
            live = self.live.pop(event.order)
            batch.touched[live.pk] = live
            if live.resting:
                key = (live.side, live.ticks)
                self.level_totals[key] -= event.remaining
                batch.levels.add(key)
                live.resting = False
            live.status, live.reason = self.outcome(live, event, taker)
            if live.hold_remaining:
                self.release(live, live.hold_remaining, batch)

    def outcome(self, live: Live, done: Done, taker: Live | None) -> tuple[str, str]:
        if done.reason is DoneReason.FILLED:
            return FILLED, ""
        if done.reason is DoneReason.REJECTED:
            return REJECTED, "post_only_would_take"
        if done.reason is DoneReason.CANCELLED:
            return CANCELLED, "cancelled" if taker is None else "self_trade_prevention"
        return self.expiry(live)

    def settle(self, trade: Trade, batch: Batch) -> None:
        spec = self.spec
        maker, taker = self.live[trade.maker_order], self.live[trade.taker_order]
        price = trade.price * spec.tick
        quantity = trade.quantity * spec.lot
        notional = trade.price * trade.quantity * spec.unit
        buyer, seller = (taker, maker) if trade.taker_side is BUY else (maker, taker)
        buyer_rate = spec.taker_rate if buyer is taker else spec.maker_rate
        seller_rate = spec.taker_rate if seller is taker else spec.maker_rate
        buyer_fee = (quantity * buyer_rate).quantize(spec.base_quantum, rounding=ROUND_CEILING)
        seller_fee = (notional * seller_rate).quantize(spec.quote_quantum, rounding=ROUND_CEILING)

        deltas = batch.deltas
        deltas[(buyer.user_id, spec.quote, LOCKED)] -= notional
        deltas[(buyer.user_id, spec.base, AVAILABLE)] += quantity - buyer_fee
        deltas[(seller.user_id, spec.base, LOCKED)] -= quantity
        deltas[(seller.user_id, spec.quote, AVAILABLE)] += notional - seller_fee
        deltas[(None, spec.base, FEES)] += buyer_fee
        deltas[(None, spec.quote, FEES)] += seller_fee
        buyer.hold_remaining -= notional
        seller.hold_remaining -= quantity
        buyer.fee += buyer_fee
        seller.fee += seller_fee
        for live in (maker, taker):
            live.filled_quantity += quantity
            live.filled_quote += notional
            live.last_price_ticks = trade.price
            batch.touched[live.pk] = live
        if maker.status == OPEN:
            maker.status = PARTIALLY_FILLED
        key = (maker.side, trade.price)
        self.level_totals[key] -= trade.quantity
        batch.levels.add(key)
        batch.last_price = price
        maker_fee, taker_fee = (buyer_fee, seller_fee) if maker is buyer else (seller_fee, buyer_fee)
        parties = (maker.pk, taker.pk, maker.user_id, taker.user_id)
        batch.trades.append((price, quantity, notional, SIDE_VALUES[trade.taker_side], *parties, maker_fee, taker_fee))

    def release(self, live: Live, amount: Decimal, batch: Batch) -> None:
        """Give `amount` of the order's hold back to its owner: locked to available."""
        asset = self.spec.quote if live.is_buy else self.spec.base
        batch.deltas[(live.user_id, asset, LOCKED)] -= amount
        batch.deltas[(live.user_id, asset, AVAILABLE)] += amount
        live.hold_remaining -= amount
        batch.touched[live.pk] = live

    def release_excess(self, live: Live, batch: Batch) -> None:
        """A resting buy that took at better prices holds more than its rest needs: give the excess back."""
        if live.resting and live.is_buy and live.price is not None and live.quantity is not None:
            needed = (live.quantity - live.filled_quantity) * live.price
            if live.hold_remaining > needed:
                self.release(live, live.hold_remaining - needed, batch)
