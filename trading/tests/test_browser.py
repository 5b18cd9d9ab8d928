"""In a real Chromium: one trader sells through the trade page, the engine runs, another buys; both see it."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from accounts.tests.factories import PASSWORD
from conftest import screenshot
from trading import services
from trading.tests.factories import drain, engine_for, markets, trader

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

URL = "/trade/BTC-USDT"
LIVE = 10_000  # ms: long enough for a few polls of the page's script


def in_thread(work: Callable[[], Any]) -> None:
    """Run database work in a thread of its own (it closes its connection), as the engine process would."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the work in the thread did not finish"
    if failures:
        raise failures[0]


def run_engine() -> None:
    in_thread(lambda: drain(engine_for("BTC-USDT")))


def place(user: Any, side: str, price: str, quantity: str) -> None:
    services.place_order(
        user=user,
        request=services.OrderRequest(symbol="BTC-USDT", side=side, type="limit", price=price, quantity=quantity),
    )


@pytest.fixture
def traders(live_server: Any) -> tuple[Any, Any]:
    """Alice (sells) and Bob (buys), and a market with some depth and history, made before the browser starts."""
    markets()
    maker = trader("maker", BTC="10", USDT="1000000")
    carol = trader("carol", BTC="10", USDT="1000000")
    # A little history: carol takes from the maker at a few prices.
    for side, price, quantity in [("sell", "59990", "0.12"), ("buy", "60005.5", "0.3"), ("sell", "59995", "0.045")]:
        place(maker, side, price, quantity)
        place(carol, "buy" if side == "sell" else "sell", price, quantity)
    # Depth on both sides, away from where Alice and Bob will trade.
    asks = {"60050": "0.25", "60075.5": "0.8", "60120": "1.5", "60200": "0.4", "60350": "2.1"}
    bids = {"59950": "0.3", "59925": "1.2", "59900.25": "0.6", "59850": "2", "59700": "3.5"}
    for side, levels in (("sell", asks), ("buy", bids)):
        for price, quantity in levels.items():
            place(maker, side, price, quantity)
    drain(engine_for("BTC-USDT"))
    return trader("alice", BTC="1"), trader("bob", USDT="50000")


def signed_in(browser: Any, url: str, username: str) -> Any:
    """A browser context of its own for one person, logged in and on the trade page."""
    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    page.goto(f"{url}/login?next={URL}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(url + URL)
    return page


def test_one_trader_sells_another_buys_and_both_see_the_trade(
    live_server: Any, traders: tuple[Any, Any], browser: Any
) -> None:
    from playwright.sync_api import expect

    url = live_server.url
    seller = signed_in(browser, url, "alice")
    expect(seller.get_by_test_id("available")).to_contain_text("1.0000 BTC")

    # Alice sells 0.5 BTC at 60000: the form shows the total and turns into a "Sell BTC" button.
    seller.get_by_role("radio", name="Sell").check()
    seller.get_by_label("Price (USDT)").fill("60000")
    seller.get_by_label("Quantity (BTC)").fill("0.5")
    expect(seller.get_by_text("Total ≈ 30000.00 USDT")).to_be_visible()
    seller.get_by_role("button", name="Sell BTC").click()
    expect(seller.get_by_text(re.compile(r"Order #\d+ placed: sell 0\.5000 BTC at 60000\.00 USDT\."))).to_be_visible()
    expect(seller.get_by_test_id("open-orders")).to_contain_text("Pending")
    expect(seller.get_by_test_id("available")).to_contain_text("0.5000 BTC")

    # The engine takes the order: the page shows it open, and on the book, without a reload.
    run_engine()
    expect(seller.get_by_test_id("open-orders")).to_contain_text("Open", timeout=LIVE)
    expect(seller.locator('.asks td[data-price="60000.00"]')).to_be_visible(timeout=LIVE)

    # Bob picks Alice's price from the book and buys 0.2 BTC.
    buyer = signed_in(browser, url, "bob")
    buyer.locator('.asks td[data-price="60000.00"]').click()
    expect(buyer.get_by_label("Price (USDT)")).to_have_value("60000.00")
    buyer.get_by_label("Quantity (BTC)").fill("0.2")
    buyer.get_by_role("button", name="Buy BTC").click()
    expect(buyer.get_by_text(re.compile(r"Order #\d+ placed: buy 0\.2000 BTC at 60000\.00 USDT\."))).to_be_visible()

    run_engine()

    # Both see the trade in the recent trades and in their fills; Alice's order is partly filled.
    for page, role in ((buyer, "Taker"), (seller, "Maker")):
        trades = page.get_by_test_id("recent-trades").get_by_role("row").nth(1)
        expect(trades).to_contain_text("60000.00", timeout=LIVE)
        expect(trades).to_contain_text("0.2000")
        expect(page.get_by_test_id("fills")).to_contain_text(role, timeout=LIVE)
        expect(page.get_by_test_id("last-price")).to_have_text("60000.00")
    expect(buyer.get_by_test_id("order-history")).to_contain_text("Filled", timeout=LIVE)
    expect(buyer.get_by_test_id("available")).to_contain_text("0.1996 BTC", timeout=LIVE)  # 0.2 less the 0.2% fee
    expect(seller.get_by_test_id("open-orders")).to_contain_text("Partially filled", timeout=LIVE)
    expect(seller.get_by_test_id("available")).to_contain_text("11988.00 USDT", timeout=LIVE)  # 12000 less 0.1%

    # Alice cancels the rest; the engine carries it out.
    seller.get_by_role("button", name=re.compile(r"Cancel order #\d+")).click()
    expect(seller.get_by_test_id("open-orders")).to_contain_text("cancelling…")
    run_engine()
    expect(seller.get_by_test_id("open-orders")).to_contain_text("No open orders", timeout=LIVE)
    expect(seller.get_by_test_id("order-history")).to_contain_text("Cancelled by you", timeout=LIVE)
    expect(seller.get_by_test_id("available")).to_contain_text("0.8000 BTC", timeout=LIVE)

    # For the picture: Bob's page with a resting bid of his own.
    buyer.get_by_label("Price (USDT)").fill("59975")
    buyer.get_by_label("Quantity (BTC)").fill("0.35")
    buyer.get_by_role("button", name="Buy BTC").click()
    run_engine()
    expect(buyer.get_by_test_id("open-orders")).to_contain_text("Open", timeout=LIVE)
    expect(buyer.locator('.bids td[data-price="59975.00"]')).to_be_visible(timeout=LIVE)
    expect(buyer.get_by_text("Live", exact=True)).to_be_visible()
    screenshot(buyer, "trade")


def test_visitors_watch_the_market_live(live_server: Any, traders: tuple[Any, Any], page: Any) -> None:
    from playwright.sync_api import expect

    alice, bob = traders
    page.goto(live_server.url + URL)
    expect(page.get_by_role("link", name="Log in to trade")).to_be_visible()
    expect(page.get_by_test_id("recent-trades").get_by_role("row")).to_have_count(4)  # the header and 3 trades

    def trade() -> None:
        place(alice, "sell", "60010", "0.1")
        place(bob, "buy", "60010", "0.1")
        drain(engine_for("BTC-USDT"))

    in_thread(trade)
    expect(page.get_by_test_id("recent-trades").get_by_role("row").nth(1)).to_contain_text("60010.00", timeout=LIVE)
    expect(page.get_by_test_id("last-price")).to_have_text("60010.00")
