"""What one market engine tells the streams after each batch: depth changes, trades, orders, candles, ticker.

Built after the batch's commit from what the batch changed (trading.engine.settlement.Batch) and
published with trading.events; the ticker at most once a second, and the open candles kept in
memory once the first trade has loaded them.
"""

from __future__ import annotations

import time
from decimal import Decimal

from trading import events, marketdata
from trading.batch_writer import Written
from trading.candles import OpenCandles
from trading.engine.settlement import Batch
from trading.marketdata import CandleRow
from trading.models import Market

TICKER_SECONDS = 1.0


class Feed:
    def __init__(self, market: Market) -> None:
        self.market = market
        self.open_candles: OpenCandles | None = None  # loaded on the first trade
        self.ticker_at = 0.0
        self.ticker_due = False

    def batch_events(
        self, batch: Batch, written: Written, level_totals: dict[tuple[str, int], int]
    ) -> events.BatchEvents:
        """The batch's events. A level whose total fell to zero is sent as such and forgotten."""
        market = self.market
        levels: dict[str, list[tuple[Decimal, Decimal]]] = {"buy": [], "sell": []}
        for side, ticks in sorted(batch.levels):
            total = level_totals.get((side, ticks), 0)
            if total == 0:
                level_totals.pop((side, ticks), None)
            levels[side].append((ticks * market.tick_size, total * market.lot_size))
        return events.BatchEvents(
            candles=self._candles(written.minute),
            ticker=self._ticker(batch),
            symbol=market.symbol,
            price_places=market.quote.decimals,
            quantity_places=market.base.decimals,
            book_seq=written.book_seq if batch.levels else None,
            bids=levels["buy"],
            asks=levels["sell"],
            trades=[
                events.TradeEvent(trade_id, price, quantity, taker_side)
                for trade_id, (price, quantity, _n, taker_side, *_parties_and_fees) in zip(
                    written.trade_ids, batch.trades, strict=True
                )
            ],
            orders=[(o.user_id, o.pk, str(o.status)) for o in batch.touched.values()],
        )

    def publish_due_ticker(self) -> None:
        """Send a ticker held back by the once-a-second limit, when its second is up."""
        ticker = self._ticker(Batch())
        if ticker is not None:
            events.publish_batch(
                events.BatchEvents(
                    symbol=self.market.symbol,
                    book_seq=None,
                    price_places=self.market.quote.decimals,
                    quantity_places=self.market.base.decimals,
                    ticker=ticker,
                )
            )

    def _candles(self, minute: CandleRow | None) -> dict[str, CandleRow]:
        if minute is None:
            return {}
        if self.open_candles is None:
            self.open_candles = OpenCandles.load(self.market)  # includes this batch's minute already
            return dict(self.open_candles.current)
        return self.open_candles.add(minute)

    def _ticker(self, batch: Batch) -> marketdata.Ticker | None:
        """The ticker, at most once a second, when the batch traded or moved the book.

        A change inside the second is not lost: `ticker_due` makes the next idle pass send it.
        """
        if batch.last_price is not None:
            self.market.last_price = batch.last_price
        if not (batch.trades or batch.levels or self.ticker_due):
            return None
        if time.monotonic() - self.ticker_at < TICKER_SECONDS:
            self.ticker_due = True
            return None
        self.ticker_at, self.ticker_due = time.monotonic(), False
        return marketdata.ticker(self.market)
