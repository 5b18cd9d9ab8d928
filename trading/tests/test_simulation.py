"""The demo market maker trades through the users' services: quotes on both sides, trades, a sound ledger."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from trading.models import Market, Order, Trade
from trading.simulation import LADDER_LEVELS, MAKER, MarketMaker
from trading.tests.factories import drain, engine_for, markets

pytestmark = pytest.mark.django_db


def test_the_market_maker_quotes_both_sides_and_trades() -> None:
    markets()
    maker = MarketMaker(["BTC-USDT"], seed=7)
    maker.fund()
    engine = engine_for("BTC-USDT")
    for _ in range(30):
        maker.tick()
        drain(engine)
    bids, asks = engine.book.depth()
    assert bids
    assert asks
    assert bids[0][0] < asks[0][0]  # never a crossed book
    quotes = Order.objects.filter(user__username=MAKER, status__in=["open", "partially_filled"])
    assert 0 < quotes.count() <= 2 * LADDER_LEVELS
    assert Trade.objects.count() > 0
    assert Market.objects.get(symbol="BTC-USDT").last_price is not None


def test_the_command_runs_for_a_while_and_stops() -> None:
    markets()
    call_command("simulate_market", "--markets", "ETH-BTC", "--seconds", "0.5", "--interval", "0.1", "--seed", "1")
    assert Order.objects.filter(market__symbol="ETH-BTC").exists()
