"""Orders that wait for the market's last trade price to reach a trigger: stops and take-profits.

The engine part (trading.engine.parts) that the stop and take-profit order types share, so that one
market's waiting orders of every such type are released in one order. Each order waits in one
direction, which its type and side decide:

- RISING: released when the last price is at or above its trigger (a buy stop, a sell take-profit);
- FALLING: released when the last price is at or below it (a sell stop, a buy take-profit).

When one trade's price reaches several triggers, they are released in price-time order: the trigger
the price reached first (the lowest of the rising ones, the highest of the falling ones), and among
equal triggers the one that came first in sequence (the lower order id). A move of the price reaches
one direction only: the rising triggers still waiting lie above the last price, the falling ones below
(an order whose trigger is reached when it arrives is not kept). Each order is released once, so a
cascade ends.

A trailing stop keeps moving its trigger: it starts at `activation` (or at once, with none), then
follows the best price since by `trailing` basis points: for a sell, the highest price seen less the
distance; for a buy, the lowest price seen plus it. It is released when the price comes back that far.

Pure Python like the book: prices are ticks; each waiting order costs a heap entry, and a trade costs
O(log n) per order it releases, whatever the number waiting (a trailing stop, whose trigger moves,
is looked at on every trade instead).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass

from trading.engine.book import Order

RISING, FALLING = 1, -1
BASIS_POINTS = 10_000


def reached(direction: int, trigger: int, last_price: int) -> bool:
    return last_price >= trigger if direction == RISING else last_price <= trigger


@dataclass(slots=True)
class Trailing:
    """A trailing stop's state: activated or not, the best price since, its distance in basis points."""

    order: Order
    direction: int
    distance_bp: int
    activation: int | None
    best: int | None = None

    def trigger(self) -> int | None:
        """The price at which it is released now (None before it is activated)."""
        if self.best is None:
            return None
        offset = self.best * self.distance_bp // BASIS_POINTS
        # A sell trails below the highest price seen (it is released on the way down), a buy above the lowest.
        return self.best - offset if self.direction == FALLING else self.best + offset

    def see(self, last_price: int) -> None:
        if self.best is None:
            if self.activation is not None and not reached(-self.direction, self.activation, last_price):
                return  # not active yet: a sell activates at or above its activation price, a buy at or below
            self.best = last_price
        elif (last_price > self.best) if self.direction == FALLING else (last_price < self.best):
            self.best = last_price


class PriceTriggers:
    """The waiting orders of one market, by direction, in heaps of (trigger, order id)."""

    def __init__(self) -> None:
        self.orders: dict[int, tuple[Order, int, int]] = {}  # id -> (order, direction, trigger)
        self.rising: list[tuple[int, int]] = []  # (trigger, id): the lowest trigger first
        self.falling: list[tuple[int, int]] = []  # (-trigger, id): the highest trigger first
        self.trailing: dict[int, Trailing] = {}

    def __len__(self) -> int:
        return len(self.orders) + len(self.trailing)

    # --- the engine part's protocol (trading.engine.parts.EnginePart) -----------------------------

    def take(self, order: Order, params: Mapping[str, int], last_price: int | None) -> bool:
        """Keep the order waiting, or return False when its trigger has been reached already."""
        if "trailing_bp" in params:
            trailing = self._trailing(order, params)
            if last_price is not None:
                trailing.see(last_price)
                trigger = trailing.trigger()
                if trigger is not None and reached(trailing.direction, trigger, last_price):
                    return False
            self.trailing[order.id] = trailing
            return True
        direction, trigger = params["direction"], params["trigger"]
        if last_price is not None and reached(direction, trigger, last_price):
            return False
        self._wait(order, direction, trigger)
        return True

    def restore(self, order: Order, params: Mapping[str, int]) -> None:
        if "trailing_bp" in params:
            trailing = self._trailing(order, params)
            trailing.best = params.get("best")
            self.trailing[order.id] = trailing
        else:
            self._wait(order, params["direction"], params["trigger"])

    def cancel(self, order_id: int) -> bool:
        # The heap entry stays until it comes to the top, where it is skipped: no O(n) removal.
        return self.orders.pop(order_id, None) is not None or self.trailing.pop(order_id, None) is not None

    def released(self, last_price: int) -> list[Order]:
        due: list[Order] = []
        for heap, sign in ((self.rising, RISING), (self.falling, FALLING)):
            while heap and reached(sign, heap[0][0] * sign, last_price):
                _key, order_id = heapq.heappop(heap)
                entry = self.orders.pop(order_id, None)
                if entry is not None:
                    due.append(entry[0])
        if self.trailing:
            due += self._released_trailing(last_price)
        return due

    # --- what the engine writes back of a trailing stop ----------------------------------------------

    def best_prices(self) -> dict[int, int]:
        """The best price each activated trailing stop has seen (the engine keeps it with the order)."""
        return {order_id: t.best for order_id, t in self.trailing.items() if t.best is not None}

    # --- inside ------------------------------------------------------------------------------------

    def _wait(self, order: Order, direction: int, trigger: int) -> None:
        self.orders[order.id] = (order, direction, trigger)
        if direction == RISING:
            heapq.heappush(self.rising, (trigger, order.id))
        else:
            heapq.heappush(self.falling, (-trigger, order.id))

    @staticmethod
    def _trailing(order: Order, params: Mapping[str, int]) -> Trailing:
        return Trailing(order, params["direction"], params["trailing_bp"], params.get("activation"))

    def _released_trailing(self, last_price: int) -> list[Order]:
        due: list[tuple[int, int, Order]] = []
        for order_id, trailing in list(self.trailing.items()):
            before = trailing.trigger()
            if before is not None and reached(trailing.direction, before, last_price):
                due.append((before * trailing.direction, order_id, trailing.order))
                del self.trailing[order_id]
                continue
            trailing.see(last_price)
        due.sort()
        return [order for _key, _id, order in due]
