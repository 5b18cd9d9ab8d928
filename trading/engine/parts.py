"""What an order type that waits off the book gives the engine (its engine part).

Most types go straight to the book (`OrderBook.place`). A type that waits for a condition first (a
stop, say, for its market's last trade price to cross a level) keeps its orders in an engine part:
one object per market engine, pure Python like the book, called by the engine in sequence with it
so that a market's history replays the same way every time.

- `take(order, params, last_price)` is called for each new order of the type, before the book sees
  it, with the market's last trade price (None before the first trade). True keeps it waiting (the
  engine records it as the type's waiting status, outside the book's depth); False lets it go to
  the book at once (its condition already holds).
- `restore(order, params)` is called when the engine rebuilds from the database, for each order that
  was waiting, in sequence order: the part keeps it as it was.
- `cancel(order_id)` is called when a cancel meets an order the book does not hold: True when the
  part held it (and has let it go); the engine then ends it as cancelled.
- `released(last_price)` is called after each command that traded, with the last trade's price in
  ticks: it returns the waiting orders whose condition now holds, in the order they are to enter the
  book, and forgets them. The engine places each as the next command, so what they trade can release
  more (a cascade ends because each order is released once).

Prices and quantities are ticks and lots, as in the book; `params` are the type's own amounts
converted by its module (`trading.order_types`), in ticks too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from trading.engine.book import Order


class EnginePart(Protocol):
    def take(self, order: Order, params: Mapping[str, int], last_price: int | None) -> bool: ...

    def restore(self, order: Order, params: Mapping[str, int]) -> None: ...

    def cancel(self, order_id: int) -> bool: ...

    def released(self, last_price: int) -> list[Order]: ...
