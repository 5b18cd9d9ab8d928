"""In a real Chromium: the trade page, the markets page and the dashboard, kept live by /ws/stream.

The pages are served by daphne in a child process on the test database (pytest-django's live server
speaks no WebSocket); the engine runs in this process, in a thread, and publishes through the same
channel layer (the CHANNEL_LAYER_PREFIX of this test run, which the child inherits). Database work
in a test body happens in threads (`in_thread`): Playwright's event loop owns the main thread.
One test runs on the WSGI live server on purpose: without a socket the pages fall back to polling.
"""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import PASSWORD
from conftest import screenshot
from trading import services
from trading.models import Candle, Market
from trading.tests.factories import drain, engine_for, markets, trader
from trading.tests.processes import BASE_DIR, StreamServerProcess, database_url, wait_for
from wallets import services as wallet_services
from wallets.models import Asset
from wallets.tasks import scan_deposits

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

URL = "/trade/BTC-USDT"
LIVE = 10_000  # ms: a stream message takes milliseconds; this leaves room for a slow machine
ORDER_FILLED = re.compile(r"Order #\d+ filled")


class AsgiServer:
    """`daphne exchange.asgi:application` on a free port, serving the test database (HTTP and WebSockets)."""

    def __init__(self, **env: str) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile("w+", prefix="daphne-", suffix=".log")  # noqa: SIM115
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "exchange.settings.test",
            "DATABASE_URL": database_url(),
            "SERVE_STATIC": "1",
            **env,
        }
        self.process: subprocess.Popen[str] | None = None
        self.start()

    def _accepting(self) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def start(self) -> None:
        command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "exchange.asgi:application"]
        self.process = subprocess.Popen(
            command, cwd=BASE_DIR, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, text=True
        )
        assert wait_for(self._accepting, timeout=30), Path(self.log.name).read_text()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def close(self) -> None:
        self.stop()
        print(Path(self.log.name).read_text()[-5000:])  # shown when the test failed
        self.log.close()


@pytest.fixture
def asgi_server(transactional_db: Any) -> Iterator[AsgiServer]:
    server = AsgiServer()
    try:
        yield server
    finally:
        server.close()  # before the test database is flushed: the server holds connections to it


@pytest.fixture(params=["web process", "stream server"])
def site(request: Any, transactional_db: Any) -> Iterator[AsgiServer]:
    """The site as served with /ws/stream on the web process, or on the stream server beside it (as
    `make run` has it: the pages open the stream on the stream server's port, STREAM_URL)."""
    stream = StreamServerProcess() if request.param == "stream server" else None
    env = {"STREAM_URL": f"ws://{{host}}:{stream.port}/ws/stream"} if stream else {}
    server = AsgiServer(**env)
    try:
        yield server
    finally:
        server.close()
        if stream is not None:
            assert "Traceback" not in stream.output(), stream.output()
            stream.stop()


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


def place(user: Any, side: str, price: str, quantity: str, symbol: str = "BTC-USDT") -> None:
    services.place_order(
        user=user,
        request=services.OrderRequest(symbol=symbol, side=side, type="limit", price=price, quantity=quantity),
    )


def chart_history(symbol: str, minutes: int, close: Decimal) -> None:
    """Three hours of minute candles before now, a random walk that ends at `close` (the chart's past)."""
    market = Market.objects.get(symbol=symbol)
    walk = random.Random(7)
    now = timezone.now().replace(second=0, microsecond=0)
    prices = [close]
    for _ in range(minutes):
        prices.append((prices[-1] * Decimal(1 + walk.gauss(0, 0.0012))).quantize(Decimal("0.01")))
    prices.reverse()  # oldest first, `close` last
    candles = []
    for i in range(minutes):
        start = now - timedelta(minutes=minutes + 2 - i)
        opening, closing = prices[i], prices[i + 1]
        wick = Decimal(abs(walk.gauss(0, 25))).quantize(Decimal("0.01"))
        volume = Decimal(walk.uniform(0.05, 2.5)).quantize(Decimal("0.0001"))
        high, low = max(opening, closing) + wick, min(opening, closing) - (wick / 2).quantize(Decimal("0.01"))
        candles.append(
            Candle(market=market, start=start, open=opening, high=high, low=low, close=closing, volume=volume,
                   quote_volume=volume * closing, trades=walk.randint(1, 40))
        )  # fmt: skip
    Candle.objects.bulk_create(candles)


def cross(buyer: Any, seller: Any, price: str, quantity: str) -> None:
    """A bid, then an ask at the same price: one trade once the engine runs."""
    place(buyer, "buy", price, quantity)
    place(seller, "sell", price, quantity)


def make_market(*, history: bool = False) -> None:
    """BTC-USDT with some trades (and, for the pictures, hours of candles before them) and depth."""
    markets()
    if history:
        chart_history("BTC-USDT", 180, Decimal("59990"))
    maker = trader("maker", BTC="10", USDT="1000000")
    carol = trader("carol", BTC="10", USDT="1000000")
    for side, price, quantity in [("sell", "59990", "0.12"), ("buy", "60005.5", "0.3"), ("sell", "59995", "0.045")]:
        place(maker, side, price, quantity)
        place(carol, "buy" if side == "sell" else "sell", price, quantity)
    asks = {"60050": "0.25", "60075.5": "0.8", "60120": "1.5", "60200": "0.4", "60350": "2.1"}
    bids = {"59950": "0.3", "59925": "1.2", "59900.25": "0.6", "59850": "2", "59700": "3.5"}
    for side, levels in (("sell", asks), ("buy", bids)):
        for price, quantity in levels.items():
            place(maker, side, price, quantity)
    drain(engine_for("BTC-USDT"))


@pytest.fixture
def traders(asgi_server: AsgiServer) -> tuple[Any, Any]:
    """Alice (sells) and Bob (buys) on a market with depth and history, made before the browser starts."""
    make_market()
    return trader("alice", BTC="1"), trader("bob", USDT="50000")


@pytest.fixture
def charted_traders(asgi_server: AsgiServer) -> tuple[Any, Any]:
    """The same, with three hours of candles before the first trade."""
    make_market(history=True)
    return trader("alice", BTC="1"), trader("bob", USDT="50000")


def signed_in(browser: Any, url: str, username: str, path: str = URL) -> Any:
    """A browser context of its own for one person, logged in and on `path`."""
    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    page.goto(f"{url}/login?next={path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(url + path)
    return page


def test_the_book_trades_chart_and_orders_update_from_the_stream(
    asgi_server: AsgiServer, charted_traders: tuple[Any, Any], browser: Any
) -> None:
    from playwright.sync_api import expect

    alice, bob = charted_traders
    seller = signed_in(browser, asgi_server.url, "alice")
    expect(seller.get_by_test_id("connection")).to_have_text("Live", timeout=LIVE)
    chart = seller.get_by_test_id("chart").locator("[data-chart]")
    expect(chart).to_have_attribute("data-candles", re.compile(r"^1[89]\d$"), timeout=LIVE)  # 180 and the trades
    expect(chart).to_have_attribute("data-last-close", "59995.00")
    expect(chart.locator("canvas").first).to_be_visible()
    seq = int(seller.locator("#trade").get_attribute("data-book-seq") or 0)
    assert seq > 0, "the book came from the stream's snapshot"

    # Bob bids in another process: Alice's book shows it without a reload, from a delta.
    in_thread(lambda: place(bob, "buy", "60010", "0.3"))
    run_engine()
    bid = seller.locator('.bids tr:has(td[data-price="60010.00"])')
    expect(bid).to_contain_text("0.3000", timeout=LIVE)
    assert int(seller.locator("#trade").get_attribute("data-book-seq") or 0) > seq

    # Alice sells into Bob's bid from the form; the engine fills it.
    seller.get_by_role("radio", name="Sell").check()
    seller.get_by_label("Price (USDT)").fill("60010")
    seller.get_by_label("Quantity (BTC)").fill("0.1")
    seller.get_by_role("button", name="Sell BTC").click()
    expect(seller.get_by_text(re.compile(r"Order #\d+ placed: sell 0\.1000 BTC at 60010\.00 USDT\."))).to_be_visible()
    expect(seller.get_by_test_id("connection")).to_have_text("Live", timeout=LIVE)
    expect(seller.get_by_test_id("available")).to_contain_text("0.9000 BTC")
    run_engine()

    expect(seller.get_by_test_id("toast").filter(has_text=ORDER_FILLED)).to_be_visible(timeout=LIVE)
    expect(seller.get_by_test_id("toast").filter(has_text=ORDER_FILLED)).to_contain_text("Sell 0.1000 BTC at 60010.00")
    expect(seller.get_by_test_id("recent-trades").get_by_role("row").nth(1)).to_contain_text("60010.00")
    expect(seller.get_by_test_id("last-price")).to_have_text("60010.00")
    expect(chart).to_have_attribute("data-last-close", "60010.00", timeout=LIVE)
    expect(bid).to_contain_text("0.2000", timeout=LIVE)  # what is left of Bob's bid
    expect(seller.get_by_test_id("order-history")).to_contain_text("Filled", timeout=LIVE)
    expect(seller.get_by_test_id("open-orders")).to_contain_text("No open orders")
    expect(seller.get_by_test_id("fills")).to_contain_text("Taker", timeout=LIVE)
    expect(seller.get_by_test_id("available")).to_contain_text("5988.998 USDT", timeout=LIVE)  # 6001 less 0.2%
    expect(seller.get_by_test_id("change")).to_contain_text("%")
    screenshot(seller, "trade")

    # Another interval: the chart loads its history and subscribes to it.
    seller.get_by_role("button", name="1h").click()
    expect(chart).to_have_attribute("data-interval", "1h")
    expect(chart).to_have_attribute("data-candles", re.compile(r"^[3-5]$"), timeout=LIVE)  # three hours and this one
    expect(chart).to_have_attribute("data-last-close", "60010.00")
    seller.get_by_role("button", name="1m").click()
    expect(chart).to_have_attribute("data-interval", "1m")

    # The server restarts; a trade happens meanwhile. The page says so, reconnects and catches up.
    asgi_server.stop()
    expect(seller.get_by_test_id("connection")).to_have_text(re.compile("Reconnecting|Offline"), timeout=LIVE)
    in_thread(lambda: cross(bob, alice, "60020", "0.05"))
    run_engine()
    asgi_server.start()
    expect(seller.get_by_test_id("connection")).to_have_text("Live", timeout=20_000)
    expect(seller.get_by_test_id("recent-trades").get_by_role("row").nth(1)).to_contain_text("60020.00", timeout=LIVE)
    expect(chart).to_have_attribute("data-last-close", "60020.00", timeout=LIVE)
    expect(seller.get_by_test_id("order-history")).to_contain_text("60020.00", timeout=LIVE)
    expect(seller.get_by_test_id("available")).to_contain_text("0.8500 BTC", timeout=LIVE)

    # Bob's page, opened now: the book after all of it.
    buyer = signed_in(browser, asgi_server.url, "bob")
    expect(buyer.get_by_test_id("connection")).to_have_text("Live", timeout=LIVE)
    expect(buyer.locator('.bids tr:has(td[data-price="60010.00"])')).to_contain_text("0.2000")
    expect(buyer.get_by_test_id("open-orders")).to_contain_text("Partially filled")


@pytest.fixture
def site_traders(site: AsgiServer) -> tuple[Any, Any]:
    make_market()
    return trader("alice", BTC="1"), trader("bob", USDT="50000")


def test_one_trader_sells_another_buys_and_both_see_the_trade(
    site: AsgiServer, site_traders: tuple[Any, Any], browser: Any
) -> None:
    from playwright.sync_api import expect

    url = site.url
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
    expect(seller.get_by_test_id("toast").filter(has_text="partly filled")).to_be_visible()
    expect(seller.get_by_test_id("available")).to_contain_text("11988.00 USDT", timeout=LIVE)  # 12000 less 0.1%

    # Alice cancels the rest; the engine carries it out.
    seller.get_by_role("button", name=re.compile(r"Cancel order #\d+")).click()
    expect(seller.get_by_test_id("open-orders")).to_contain_text("cancelling…")
    run_engine()
    expect(seller.get_by_test_id("open-orders")).to_contain_text("No open orders", timeout=LIVE)
    expect(seller.get_by_test_id("order-history")).to_contain_text("Cancelled by you", timeout=LIVE)
    expect(seller.get_by_test_id("available")).to_contain_text("0.8000 BTC", timeout=LIVE)
    # Where the pages kept their stream: the stream server's port when the site names one
    stream_url = site.env.get("STREAM_URL", "").replace("{host}", "127.0.0.1")
    assert seller.evaluate("document.body.dataset.streamUrl || ''") == stream_url


@pytest.fixture
def wsgi_traders(live_server: Any) -> tuple[Any, Any]:
    """The same traders and market, for pytest-django's live server."""
    make_market()
    return trader("alice", BTC="1"), trader("bob", USDT="50000")


def test_without_a_socket_the_trade_page_polls(live_server: Any, wsgi_traders: tuple[Any, Any], page: Any) -> None:
    """pytest-django's live server speaks no WebSocket: the page says so and polls the API instead."""
    from playwright.sync_api import expect

    alice, bob = wsgi_traders
    page.goto(live_server.url + URL)
    expect(page.get_by_role("link", name="Log in to trade")).to_be_visible()
    expect(page.get_by_test_id("connection")).to_have_text(re.compile("Reconnecting|Offline"), timeout=LIVE)
    expect(page.get_by_test_id("recent-trades").get_by_role("row")).to_have_count(4)  # the header and 3 trades

    in_thread(lambda: cross(bob, alice, "60010", "0.1"))
    run_engine()
    expect(page.get_by_test_id("recent-trades").get_by_role("row").nth(1)).to_contain_text("60010.00", timeout=LIVE)
    expect(page.get_by_test_id("last-price")).to_have_text("60010.00", timeout=LIVE)
    expect(page.get_by_test_id("chart").locator("[data-chart]")).to_have_attribute(
        "data-last-close", "60010.00", timeout=LIVE
    )


@pytest.fixture
def watched(traders: tuple[Any, Any]) -> tuple[Any, Any]:
    """The traders, and a few ether trades on ETH-USDT; ETH-BTC has none yet."""
    eth = trader("ether", ETH="20", USDT="100000")
    buyer = trader("ether_buyer", USDT="100000")
    for price, quantity in (("2990.5", "1.2"), ("3012", "0.8"), ("3004.25", "2.5")):
        place(eth, "sell", price, quantity, symbol="ETH-USDT")
        place(buyer, "buy", price, quantity, symbol="ETH-USDT")
    drain(engine_for("ETH-USDT"))
    return traders


def test_the_markets_page_shows_every_market_live(asgi_server: AsgiServer, watched: tuple[Any, Any], page: Any) -> None:
    from playwright.sync_api import expect

    alice, bob = watched
    page.goto(asgi_server.url + "/markets")
    expect(page.get_by_test_id("connection")).to_have_text("Live", timeout=LIVE)
    rows = page.get_by_test_id("markets").get_by_role("row")
    expect(rows).to_have_count(4)  # the header and three markets
    btc = page.locator('tr[data-symbol="BTC-USDT"]')
    expect(btc.locator('[data-field="last"]')).to_have_text("59995.00")
    expect(page.locator('[data-stat="trades"]')).to_have_text("6")

    in_thread(lambda: cross(bob, alice, "60040", "0.1"))
    run_engine()

    expect(btc.locator('[data-field="last"]')).to_have_text("60040.00", timeout=LIVE)
    expect(btc.locator('[data-field="high"]')).to_have_text("60040.00")
    expect(btc.locator('[data-field="change"]')).to_have_text("+0.08%")  # from the first trade's 59990
    expect(btc.locator('[data-field="volume"]')).to_contain_text("0.5650 BTC")
    expect(page.locator('[data-stat="trades"]')).to_have_text("7")
    # 33,904.225 on BTC-USDT and 13,508.825 on ETH-USDT (USDT is worth 1)
    expect(page.locator('[data-stat="volume"]')).to_have_text("47,413.05")
    eth = page.locator('tr[data-symbol="ETH-USDT"]')
    expect(eth.locator('[data-field="last"]')).to_have_text("3004.25")
    expect(eth.locator('[data-field="change"]')).to_have_text("+0.46%")
    expect(page.locator('tr[data-symbol="ETH-BTC"] [data-field="last"]')).to_have_text("—")
    page.wait_for_timeout(1500)  # the flash of what changed fades out before the picture
    screenshot(page, "markets")
    page.get_by_role("link", name="Trade BTC/USDT").click()
    expect(page).to_have_url(asgi_server.url + URL)


@pytest.fixture
def holder(asgi_server: AsgiServer) -> tuple[Any, Any]:
    """Alice, with 1 BTC and 1,000 USDT, half of the BTC offered at 60,040; BTC last traded at 60,000."""
    make_market()
    alice, bob, dave = trader("alice", BTC="1", USDT="1000"), trader("bob", USDT="100000"), trader("dave", BTC="1")
    for price in ("59999", "60000"):
        place(dave, "sell", price, "0.01")
        place(bob, "buy", price, "0.01")
    place(alice, "sell", "60040", "0.5")  # the best ask
    drain(engine_for("BTC-USDT"))
    return alice, bob


def test_the_dashboard_follows_fills_and_deposits(
    asgi_server: AsgiServer, holder: tuple[Any, Any], browser: Any
) -> None:
    from playwright.sync_api import expect

    alice, bob = holder
    page = signed_in(browser, asgi_server.url, "alice", "/")
    expect(page.get_by_role("heading", name="Welcome back, alice")).to_be_visible()
    expect(page.get_by_test_id("connection")).to_have_text("Live", timeout=LIVE)
    # 1 BTC at 60,000 (the last trade) + 1,000 USDT; ETH is worth its reference price, but alice has none.
    expect(page.get_by_test_id("total-value")).to_have_text("61,000.00 USDT")
    expect(page.get_by_test_id("open-orders")).to_contain_text("BTC/USDT")
    expect(page.get_by_test_id("open-orders")).to_contain_text("60040.00")

    # Bob buys all of Alice's offer: a toast, the order gone, balances and their value updated.
    in_thread(lambda: place(bob, "buy", "60040", "0.5"))
    run_engine()
    toast = page.get_by_test_id("toast").filter(has_text=ORDER_FILLED)
    expect(toast).to_be_visible(timeout=LIVE)
    expect(toast).to_contain_text("Sell 0.5000 BTC at 60040.00 USDT.")
    expect(page.get_by_test_id("open-orders")).to_contain_text("No open orders.", timeout=LIVE)
    usdt = page.get_by_test_id("balances").locator('tr[data-asset="USDT"]')
    expect(usdt.locator('[data-field="total"]')).to_have_text("30989.98", timeout=LIVE)  # 1000 + 30020 - 0.1%
    btc = page.get_by_test_id("balances").locator('tr[data-asset="BTC"]')
    expect(btc.locator('[data-field="total"]')).to_have_text("0.50")
    # BTC now last traded at 60,040: 0.5 x 60,040 + 30,989.98
    expect(page.get_by_test_id("total-value")).to_have_text("61,009.98 USDT", timeout=LIVE)
    expect(page.get_by_test_id("fills")).to_contain_text("maker", timeout=LIVE)

    # A deposit is credited: a toast from the notification, on top of the list, in the transfers.
    def deposit() -> None:
        usdt_asset = Asset.objects.get(code="USDT")
        wallet_services.simulate_incoming_deposit(user_id=alice.pk, asset=usdt_asset, amount=Decimal("500"))
        scan_deposits()

    in_thread(deposit)
    note = page.get_by_test_id("toast").filter(has_text="Deposit credited: 500 USDT")
    expect(note).to_be_visible(timeout=LIVE)
    expect(page.get_by_test_id("notifications").get_by_role("listitem").first).to_contain_text(
        "Deposit credited: 500 USDT"
    )
    expect(page.get_by_test_id("transactions").get_by_role("row").nth(1)).to_contain_text("500 USDT", timeout=LIVE)
    expect(page.get_by_test_id("transactions").get_by_role("row").nth(1)).to_contain_text("Credited")
    expect(usdt.locator('[data-field="total"]')).to_have_text("31489.98", timeout=LIVE)
    expect(page.get_by_test_id("total-value")).to_have_text("61,509.98 USDT")
    page.wait_for_timeout(1700)  # the highlight of what is new fades out before the picture
    screenshot(page, "dashboard")


def test_a_logout_in_another_tab_takes_the_dashboard_back_to_the_login(asgi_server: AsgiServer, browser: Any) -> None:
    from playwright.sync_api import expect

    # Given Alice's dashboard, live on her session
    make_market()
    trader("alice", USDT="1000")
    dashboard = signed_in(browser, asgi_server.url, "alice", "/")
    expect(dashboard.get_by_test_id("connection")).to_have_text("Live", timeout=LIVE)
    # When she logs out in another tab of the same browser
    other_tab = dashboard.context.new_page()
    other_tab.goto(asgi_server.url + "/")
    other_tab.get_by_role("button", name=re.compile("Log out")).click()
    # Then the server ends the dashboard's sign-in on the stream, and the page, drawn again, is signed out
    expect(dashboard.get_by_role("link", name="Create an account")).to_be_visible(timeout=LIVE)
    expect(dashboard.get_by_text("alice")).to_have_count(0)
