"""Trading end to end through the API and the engine (run in this process): placement, matching,
settlement, fees, cancels, order types, idempotency. The ledger audit runs after every test (conftest)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from conftest import race
from trading import services
from trading.batch_writer import Fenced
from trading.models import Market, MarketStatus, Order, Trade
from trading.tests.factories import balance, client_for, drain, engine_for, fee_revenue, markets, trader

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def setup(db: Any) -> dict[str, Any]:
    markets()
    alice = trader("alice", BTC="2", USDT="100000", ETH="10")
    bob = trader("bob", BTC="2", USDT="100000", ETH="10")
    return {"alice": alice, "bob": bob, "a": client_for(alice), "b": client_for(bob)}


def order(client: Any, expect: int = 201, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/trading/orders", {"symbol": "BTC-USDT", **fields}, format="json")
    assert response.status_code == expect, response.json()
    return dict(response.json())


def test_two_users_trade_through_the_api(setup: dict[str, Any]) -> None:
    a, b = setup["a"], setup["b"]
    sell = order(a, side="sell", type="limit", price="60000.00", quantity="0.5")
    assert sell["status"] == "pending"
    assert balance(setup["alice"], "BTC") == (D("1.5"), D("0.5"))  # held at once
    buy = order(b, side="buy", type="limit", price="60500", quantity="0.8")
    assert balance(setup["bob"], "USDT") == (D("100000") - D("48400"), D("48400"))

    engine = engine_for("BTC-USDT")
    assert drain(engine) == 2

    sell = a.get(f"/api/trading/orders/{sell['id']}").json()
    buy = b.get(f"/api/trading/orders/{buy['id']}").json()
    assert sell["status"] == "filled"
    assert sell["average_price"] == "60000.000000"
    assert buy["status"] == "partially_filled"
    assert buy["filled_quantity"] == "0.50000000"
    # Maker (alice) pays 0.1% in USDT; taker (bob) 0.2% in BTC.
    assert sell["fee"] == "30.000000"
    assert buy["fee"] == "0.00100000"
    assert fee_revenue("USDT") == D("30")
    assert fee_revenue("BTC") == D("0.001")
    assert balance(setup["alice"], "USDT") == (D("100000") + D("30000") - D("30"), D("0"))
    assert balance(setup["alice"], "BTC") == (D("1.5"), D("0"))
    # Bob bought 0.5 at 60000 (price improvement released) and still bids 0.3 at 60500.
    assert balance(setup["bob"], "BTC") == (D("2.499"), D("0"))
    assert balance(setup["bob"], "USDT") == (D("100000") - D("30000") - D("18150"), D("18150"))

    book = b.get("/api/trading/orderbook/BTC-USDT").json()
    assert book["bids"] == [["60500.000000", "0.30000000"]]
    assert book["asks"] == []
    assert book["seq"] == Market.objects.get(symbol="BTC-USDT").book_seq > 0
    trades = b.get("/api/trading/trades/btc-usdt").json()
    assert [(t["price"], t["quantity"], t["taker_side"]) for t in trades] == [("60000.000000", "0.50000000", "buy")]
    fills = a.get("/api/trading/fills").json()["results"]
    assert [(f["role"], f["side"], f["fee"], f["fee_asset"]) for f in fills] == [("maker", "sell", "30.000000", "USDT")]
    assert b.get("/api/trading/orders?status=open").json()["count"] == 1
    assert a.get("/api/trading/orders?status=closed&symbol=BTC-USDT").json()["count"] == 1


def test_cancel_is_carried_out_in_sequence_and_releases_the_hold(setup: dict[str, Any]) -> None:
    a = setup["a"]
    placed = order(a, side="buy", type="limit", price="50000", quantity="1")
    engine = engine_for("BTC-USDT")
    drain(engine)
    response = a.delete(f"/api/trading/orders/{placed['id']}")
    assert response.status_code == 202
    assert response.json()["cancel_requested"] is True
    assert response.json()["status"] == "open"
    assert a.delete(f"/api/trading/orders/{placed['id']}").status_code == 202  # asking twice is fine
    drain(engine)
    done = a.get(f"/api/trading/orders/{placed['id']}").json()
    assert (done["status"], done["reason"]) == ("cancelled", "cancelled")
    assert balance(setup["alice"], "USDT") == (D("100000"), D("0"))
    again = a.delete(f"/api/trading/orders/{placed['id']}")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def test_a_cancel_accepted_before_a_match_wins_over_it(setup: dict[str, Any]) -> None:
    """The cancel's seq is before the crossing order's: the engine cancels first, nothing trades."""
    a, b = setup["a"], setup["b"]
    resting = order(a, side="sell", type="limit", price="60000", quantity="0.1")
    engine = engine_for("BTC-USDT")
    drain(engine)
    a.delete(f"/api/trading/orders/{resting['id']}")
    taker = order(b, side="buy", type="limit", price="60000", quantity="0.1", time_in_force="IOC")
    drain(engine)
    assert Order.objects.get(pk=resting["id"]).status == "cancelled"
    assert Order.objects.get(pk=taker["id"]).status == "expired"
    assert not Trade.objects.exists()


def test_cancel_all(setup: dict[str, Any]) -> None:
    a = setup["a"]
    for price in ("50000", "51000"):
        order(a, side="buy", type="limit", price=price, quantity="0.1")
    order(a, symbol="ETH-USDT", side="buy", type="limit", price="3000", quantity="1")
    response = a.delete("/api/trading/orders?symbol=BTC-USDT")
    assert response.json() == {"cancel_requested": 2}
    drain(engine_for("BTC-USDT"))
    drain(engine_for("ETH-USDT"))
    statuses = sorted(Order.objects.values_list("status", flat=True))
    assert statuses == ["cancelled", "cancelled", "open"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"price": "60000.001", "quantity": "0.1"}, "price"),  # off the tick
        ({"price": "60000", "quantity": "0.00005"}, "quantity"),  # off the lot
        ({"price": "1", "quantity": "0.1"}, "quantity"),  # below the minimum notional
        ({"price": "-1", "quantity": "0.1"}, "price"),
        ({"price": 60000.5, "quantity": "0.1"}, "price"),  # a float
        ({"price": "NaN", "quantity": "0.1"}, "price"),
        ({"quantity": "0.1"}, "price"),
        ({"price": "60000"}, "quantity"),
        ({"price": "60000", "quantity": "0.1", "quote_quantity": "10"}, "quote_quantity"),
        ({"price": "60000", "quantity": "0.1", "post_only": True, "time_in_force": "IOC"}, "post_only"),
    ],
)
def test_invalid_limit_orders_are_refused_and_change_nothing(
    setup: dict[str, Any], fields: dict[str, Any], field: str
) -> None:
    body = order(setup["a"], expect=400, side="buy", type="limit", **fields)
    assert body["error"]["code"] == "validation_error"
    assert field in body["error"]["details"]
    assert not Order.objects.exists()
    assert balance(setup["alice"], "USDT") == (D("100000"), D("0"))


def test_refusals(setup: dict[str, Any]) -> None:
    a = setup["a"]
    assert (
        order(a, expect=404, symbol="DOGE-USDT", side="buy", type="limit", price="1", quantity="1")["error"]["code"]
        == "not_found"
    )
    too_much = order(a, expect=400, side="buy", type="limit", price="60000", quantity="2")
    assert too_much["error"]["code"] == "insufficient_funds"
    no_book = order(a, expect=409, side="buy", type="market", quantity="0.1")
    assert no_book["error"]["code"] == "no_liquidity"
    Market.objects.filter(symbol="BTC-USDT").update(status=MarketStatus.HALTED)
    halted = order(a, expect=409, side="sell", type="limit", price="60000", quantity="0.1")
    assert halted["error"]["code"] == "market_closed"
    assert not Order.objects.exists()
    assert balance(setup["alice"], "USDT") == (D("100000"), D("0"))


def test_unverified_users_cannot_trade_but_can_read(setup: dict[str, Any]) -> None:
    newcomer = trader("carol", USDT="100")
    type(newcomer).objects.filter(pk=newcomer.pk).update(kyc_level=0)
    client = client_for(newcomer)
    body = order(client, expect=403, side="buy", type="limit", price="60000", quantity="0.001")
    assert body["error"]["code"] == "kyc_required"
    assert client.get("/api/trading/orders").status_code == 200


def test_orders_are_visible_to_their_owner_only(setup: dict[str, Any]) -> None:
    mine = order(setup["a"], side="buy", type="limit", price="50000", quantity="0.1")
    b = setup["b"]
    assert b.get(f"/api/trading/orders/{mine['id']}").status_code == 404
    assert b.delete(f"/api/trading/orders/{mine['id']}").status_code == 404
    assert b.get("/api/trading/orders").json()["count"] == 0
    assert Order.objects.get(pk=mine["id"]).cancel_seq is None
    assert setup["a"].get("/api/trading/orders/999999").status_code == 404


def test_client_order_id_makes_placement_idempotent(setup: dict[str, Any]) -> None:
    a = setup["a"]
    fields = {"side": "buy", "type": "limit", "price": "50000", "quantity": "0.1", "client_order_id": "bot-1"}
    first = order(a, **fields)
    again = order(a, expect=200, **fields)
    assert again["id"] == first["id"]
    changed = order(a, expect=409, **{**fields, "price": "50001"})
    assert changed["error"]["details"]["order_id"] == first["id"]
    assert order(setup["b"], **fields)["id"] != first["id"]  # another user's ids are their own
    assert balance(setup["alice"], "USDT") == (D("95000"), D("5000"))


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_client_order_id_place_one_order() -> None:
    markets()
    alice = trader("alice", USDT="100000")
    request = services.OrderRequest("BTC-USDT", "buy", "limit", price="50000", quantity="0.1", client_order_id="x")
    results = race(lambda: services.place_order(user=alice, request=request), threads=4)
    assert all(not isinstance(r, Exception) for r in results), results
    assert len({o.pk for o, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert balance(alice, "USDT") == (D("95000"), D("5000"))


def test_market_orders(setup: dict[str, Any]) -> None:
    a, b = setup["a"], setup["b"]
    order(a, side="sell", type="limit", price="60000", quantity="0.1")
    order(a, side="sell", type="limit", price="61000", quantity="0.1")
    engine = engine_for("BTC-USDT")
    drain(engine)
    # By quantity: holds the walk of the book (0.1 x 60000 + 0.05 x 61000) plus the 5% band.
    by_quantity = order(b, side="buy", type="market", quantity="0.15")
    assert by_quantity["time_in_force"] == "IOC"
    assert balance(setup["bob"], "USDT")[1] == D("9050") * D("1.05")
    drain(engine)
    done = b.get(f"/api/trading/orders/{by_quantity['id']}").json()
    assert (done["status"], done["filled_quantity"], done["filled_quote"]) == ("filled", "0.15000000", "9050.000000")
    assert balance(setup["bob"], "USDT")[1] == 0  # the rest of the hold came back
    # By quote amount: spends what it can in whole lots, at most 1000 USDT.
    by_quote = order(b, side="buy", type="market", quote_quantity="1000")
    drain(engine)
    done = b.get(f"/api/trading/orders/{by_quote['id']}").json()
    assert done["status"] == "filled"
    assert done["filled_quantity"] == "0.01630000"  # 0.0163 x 61000 = 994.3 <= 1000
    # A market sell.
    order(b, side="buy", type="limit", price="59000", quantity="0.2")
    sell = order(a, side="sell", type="market", quantity="0.3")
    drain(engine)
    done = a.get(f"/api/trading/orders/{sell['id']}").json()
    assert (done["status"], done["filled_quantity"], done["reason"]) == ("expired", "0.20000000", "immediate_or_cancel")
    assert balance(setup["alice"], "BTC")[1] == D("0.0337")  # what is left of her ask at 61000


def test_market_buy_by_quantity_stops_at_its_price_protection(setup: dict[str, Any]) -> None:
    a, b = setup["a"], setup["b"]
    order(a, side="sell", type="limit", price="60000", quantity="0.1")
    engine = engine_for("BTC-USDT")
    drain(engine)
    order(a, side="sell", type="limit", price="90000", quantity="0.1")  # pending: not on the book yet
    order(b, side="buy", type="market", quantity="0.1")  # will take the cheap ask first
    buy = order(b, side="buy", type="market", quantity="0.1")  # holds 6000 x 1.05, sees only the cheap ask
    drain(engine)
    done = b.get(f"/api/trading/orders/{buy['id']}").json()
    assert done["filled_quantity"] == "0.07000000"  # 6300 // 90000 per 0.0001 lot
    assert (done["status"], done["reason"]) == ("expired", "price_protection")


def test_time_in_force_post_only_and_self_trade_prevention(setup: dict[str, Any]) -> None:
    a, b = setup["a"], setup["b"]
    engine = engine_for("BTC-USDT")
    order(a, side="sell", type="limit", price="60000", quantity="0.1")
    drain(engine)
    fok = order(b, side="buy", type="limit", price="60000", quantity="0.2", time_in_force="FOK")
    post = order(b, side="buy", type="limit", price="60000", quantity="0.05", post_only=True)
    own = order(a, side="buy", type="limit", price="60000", quantity="0.05")  # would trade with alice herself
    drain(engine)
    assert Order.objects.get(pk=fok["id"]).status == "expired"
    assert (Order.objects.get(pk=post["id"]).status, Order.objects.get(pk=post["id"]).reason) == (
        "rejected",
        "post_only_would_take",
    )
    assert Order.objects.get(pk=own["id"]).reason == "self_trade_prevention"
    maker_cancel = order(
        a, side="buy", type="limit", price="60000", quantity="0.05", self_trade_prevention="cancel_maker"
    )
    drain(engine)
    assert Order.objects.get(side="sell").status == "cancelled"
    assert Order.objects.get(pk=maker_cancel["id"]).status == "open"
    assert not Trade.objects.exists()


def test_pro_rata_market_shares_an_incoming_order(setup: dict[str, Any]) -> None:
    a, b = setup["a"], setup["b"]
    carol = trader("carol", ETH="10")
    engine = engine_for("ETH-BTC")
    order(a, symbol="ETH-BTC", side="sell", type="limit", price="0.05", quantity="3")
    order(client_for(carol), symbol="ETH-BTC", side="sell", type="limit", price="0.05", quantity="1")
    drain(engine)
    order(b, symbol="ETH-BTC", side="buy", type="limit", price="0.05", quantity="2")
    drain(engine)
    fills = {t.maker_user_id: t.quantity for t in Trade.objects.all()}
    assert fills == {setup["alice"].pk: D("1.5"), carol.pk: D("0.5")}


def test_an_engine_whose_market_was_taken_over_cannot_write(setup: dict[str, Any]) -> None:
    old = engine_for("BTC-USDT")
    new = engine_for("BTC-USDT")
    order(setup["a"], side="sell", type="limit", price="60000", quantity="0.1")
    with pytest.raises(Fenced):
        old.run_batch(100)
    assert Order.objects.get().status == "pending"
    assert drain(new) == 1
    assert Order.objects.get().status == "open"


def test_a_failed_batch_rebuilds_the_book_from_the_database(setup: dict[str, Any]) -> None:
    a, b = setup["a"], setup["b"]
    engine = engine_for("BTC-USDT")
    order(a, side="sell", type="limit", price="60000", quantity="0.1")
    drain(engine)
    order(b, side="buy", type="limit", price="60000", quantity="0.1")
    with connection.cursor() as cursor:  # the batch's write will fail
        cursor.execute("ALTER TABLE trading_trade ADD CONSTRAINT test_no_trades CHECK (false) NOT VALID")
    with pytest.raises(Exception, match="test_no_trades"):
        engine.run_batch(100)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE trading_trade DROP CONSTRAINT test_no_trades")
    assert engine.stale
    assert drain(engine) == 1
    assert Trade.objects.count() == 1
    assert engine.book.depth() == ([], [])


def test_rebuilt_book_equals_the_open_orders(setup: dict[str, Any]) -> None:
    a, b = setup["a"], setup["b"]
    engine = engine_for("BTC-USDT")
    for price, quantity in (("60000", "0.1"), ("60100", "0.2"), ("60000", "0.3")):
        order(a, side="sell", type="limit", price=price, quantity=quantity)
    order(b, side="buy", type="limit", price="59000", quantity="0.4")
    order(b, side="buy", type="limit", price="60000", quantity="0.15")
    drain(engine)
    fresh = engine_for("BTC-USDT")
    assert fresh.book.depth() == engine.book.depth()
    book = b.get("/api/trading/orderbook/BTC-USDT").json()
    assert book["asks"] == [["60000.000000", "0.25000000"], ["60100.000000", "0.20000000"]]
    assert book["bids"] == [["59000.000000", "0.40000000"]]
    assert b.get("/api/trading/orderbook/BTC-USDT?depth=1").json()["asks"] == [["60000.000000", "0.25000000"]]
    assert b.get("/api/trading/orderbook/BTC-USDT?depth=0").status_code == 400


def test_cancel_all_in_a_halted_market_is_refused(setup: dict[str, Any]) -> None:
    order(setup["a"], side="buy", type="limit", price="50000", quantity="0.1")
    Market.objects.filter(symbol="BTC-USDT").update(status=MarketStatus.HALTED)
    response = setup["a"].delete("/api/trading/orders?symbol=BTC-USDT")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "market_closed")
    assert setup["a"].delete("/api/trading/orders").json() == {"cancel_requested": 0}  # halted ones stay
