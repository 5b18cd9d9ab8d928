"""Writes for trading: placing orders and requesting cancels. The engine does everything after that.

Placing an order validates it against its market, then in **one transaction** inserts it as
`pending` (its `seq` from the command sequence) and moves its hold from available to locked; the
engine is woken by NOTIFY when that commits. A cancel is a request with a `seq` of its own, carried
out by the engine in sequence, so it can never race a fill.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, localcontext

from django.db import IntegrityError, connection, transaction

from accounts.models import User
from exchange.core import money
from exchange.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from kyc import policy
from trading.models import (
    COMMAND_SEQUENCE,
    LIVE_STATUSES,
    RESTING_STATUSES,
    Market,
    Order,
    OrderType,
    SelfTradePrevention,
    Side,
    TimeInForce,
)
from wallets import services as wallet_services
from wallets.models import Asset

WAKEUP_CHANNEL = "engine_wakeup"
# Cancel requests take their place in line from the command sequence (SEQUENCE below).
CANCEL_ONE_TEMPLATE = (
    "UPDATE trading_order SET cancel_seq = nextval('SEQUENCE'), updated_at = now() "
    "WHERE id = %s AND cancel_seq IS NULL AND status = ANY(%s)"
)
CANCEL_ALL_TEMPLATE = (
    "UPDATE trading_order o SET cancel_seq = nextval('SEQUENCE'), updated_at = now() "
    "FROM trading_market m WHERE m.id = o.market_id AND m.status <> 'halted' AND o.user_id = %s "
    "AND o.cancel_seq IS NULL AND o.status = ANY(%s) AND (%s::bigint IS NULL OR m.id = %s) "
    "RETURNING m.symbol"
)
# What the engine (or a cancel request) changes on an order.
ENGINE_FIELDS = [
    "status",
    "cancel_seq",
    "filled_quantity",
    "filled_quote",
    "fee",
    "hold_remaining",
    "reason",
    "updated_at",
]
CANCEL_ONE_SQL = CANCEL_ONE_TEMPLATE.replace("SEQUENCE", COMMAND_SEQUENCE)
CANCEL_ALL_SQL = CANCEL_ALL_TEMPLATE.replace("SEQUENCE", COMMAND_SEQUENCE)


class MarketClosed(DomainError):
    code = "market_closed"
    status_code = 409
    default_message = "This market is not accepting orders."


class NoLiquidity(DomainError):
    code = "no_liquidity"
    status_code = 409
    default_message = "There is nothing on the other side of the book to trade with."


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


def market_by_symbol(symbol: str) -> Market:
    market = Market.objects.select_related("base", "quote").filter(symbol=str(symbol).strip().upper()).first()
    if market is None:
        raise NotFound(f"Unknown market {symbol!r}.", details={"symbol": ["Unknown market."]})
    return market


def _decimal(raw: object, field: str) -> Decimal:
    return money.parse_decimal(raw, field=field, what=field)


def _on_step(value: Decimal, step: Decimal, field: str, what: str) -> Decimal:
    if money.MONEY.remainder(value, step):
        message = f"{field} must be a multiple of the market's {what} ({step.normalize():f})."
        raise ValidationFailed(message, details={field: [message]})
    return value


@dataclass(frozen=True)
class ValidOrder:
    side: str
    type: str
    price: Decimal | None
    quantity: Decimal | None
    quote_quantity: Decimal | None
    time_in_force: str
    post_only: bool
    self_trade_prevention: str
    client_order_id: str


def validate(request: OrderRequest, market: Market) -> ValidOrder:
    """Check an order against its market's rules; return it with parsed amounts, or raise ValidationFailed."""

    def refuse(field: str, message: str) -> ValidationFailed:
        return ValidationFailed(message, details={field: [message]})

    if request.side not in Side.values:
        raise refuse("side", "side is buy or sell.")
    if request.type not in OrderType.values:
        raise refuse("type", "type is limit or market.")
    if request.time_in_force not in TimeInForce.values:
        raise refuse("time_in_force", "time_in_force is GTC, IOC or FOK.")
    if request.self_trade_prevention not in SelfTradePrevention.values:
        raise refuse("self_trade_prevention", "self_trade_prevention is cancel_taker, cancel_maker or cancel_both.")
    client_order_id = str(request.client_order_id or "").strip()
    if len(client_order_id) > 64:
        raise refuse("client_order_id", "client_order_id has at most 64 characters.")

    price = quantity = quote_quantity = None
    if request.quantity not in (None, ""):
        quantity = _on_step(_decimal(request.quantity, "quantity"), market.lot_size, "quantity", "lot size")
    if request.quote_quantity not in (None, ""):
        quote_quantity = _decimal(request.quote_quantity, "quote_quantity")
    time_in_force = request.time_in_force

    if request.type == OrderType.LIMIT:
        if request.price in (None, ""):
            raise refuse("price", "A limit order needs a price.")
        price = _on_step(_decimal(request.price, "price"), market.tick_size, "price", "tick size")
        if quantity is None:
            raise refuse("quantity", "A limit order needs a quantity.")
        if quote_quantity is not None:
            raise refuse("quote_quantity", "Only market buys can be sized in the quote asset.")
        notional = money.multiply(price, quantity)
        if notional >= money.LIMIT:
            message = f"The order's value ({notional:.3E} {market.quote}) is too large: it must be below 10^18."
            raise refuse("quantity", message)
        if notional < market.min_notional:
            raise refuse(
                "quantity",
                f"The order's value is below the minimum of {market.min_notional.normalize():f} {market.quote}.",
            )
        if request.post_only and time_in_force != TimeInForce.GTC:
            raise refuse("post_only", "A post-only order rests on the book: use GTC.")
    else:
        if request.price not in (None, ""):
            raise refuse("price", "A market order has no price.")
        if request.post_only:
            raise refuse("post_only", "A market order always takes: it cannot be post-only.")
        if time_in_force == TimeInForce.GTC:
            time_in_force = TimeInForce.IOC  # a market order never rests
        if request.side == Side.SELL and quote_quantity is not None:
            raise refuse("quote_quantity", "A market sell is sized by quantity.")
        if (quantity is None) == (quote_quantity is None):
            raise refuse("quantity", "A market buy needs either quantity or quote_quantity (not both).")
        if quote_quantity is not None:
            if money.quantize(quote_quantity, market.quote.decimals) != quote_quantity:
                raise refuse("quote_quantity", f"{market.quote} has at most {market.quote.decimals} decimals.")
            if quote_quantity < market.min_notional:
                message = f"quote_quantity is below the minimum of {market.min_notional.normalize():f} {market.quote}."
                raise refuse("quote_quantity", message)
    if quantity is not None and quantity < market.min_quantity:
        raise refuse("quantity", f"quantity is below the minimum of {market.min_quantity.normalize():f} {market.base}.")
    return ValidOrder(
        side=request.side,
        type=request.type,
        price=price,
        quantity=quantity,
        quote_quantity=quote_quantity,
        time_in_force=time_in_force,
        post_only=bool(request.post_only),
        self_trade_prevention=request.self_trade_prevention,
        client_order_id=client_order_id,
    )


def _ceil(amount: Decimal, asset: Asset) -> Decimal:
    return money.quantize(amount, asset.decimals, rounding=ROUND_CEILING)


def market_buy_hold(market: Market, quantity: Decimal) -> Decimal:
    """What a market buy of `quantity` holds: the cost of walking the resting asks, plus the protection band.

    The engine never lets the order spend more than this, so it is also the order's price protection.
    """
    cost = Decimal(0)
    needed = quantity
    worst: Decimal | None = None
    asks = (
        Order.objects.filter(market=market, side=Side.SELL, status__in=RESTING_STATUSES)
        .order_by("price", "seq")
        .values_list("price", "quantity", "filled_quantity")
    )
    with localcontext(money.MONEY):  # products of two stored amounts need more than 28 digits
        for price, total, filled in asks.iterator(chunk_size=200):
            worst = price
            take = min(needed, total - filled)
            cost += take * price
            needed -= take
            if needed <= 0:
                break
        if worst is None:
            raise NoLiquidity("No one is selling: place a limit order instead.")
        cost += needed * worst  # a thinner book than asked for: the rest is bounded at the worst price seen
        hold = cost * (1 + market.market_buy_protection)
    if hold >= money.LIMIT:
        message = f"Buying {quantity:f} {market.base} would cost too much: the hold must be below 10^18."
        raise ValidationFailed(message, details={"quantity": [message]})
    return _ceil(hold, market.quote)


def _given(value: Decimal | None) -> Decimal:
    if value is None:  # validate() makes sure of it: a bug if it happens
        raise TypeError("an amount validate() requires is missing")
    return value


def _hold_for(market: Market, order: ValidOrder) -> tuple[Asset, Decimal]:
    if order.side == Side.SELL:
        return market.base, _given(order.quantity)
    if order.type == OrderType.LIMIT:
        return market.quote, _ceil(money.multiply(_given(order.price), _given(order.quantity)), market.quote)
    if order.quote_quantity is not None:
        return market.quote, order.quote_quantity
    return market.quote, market_buy_hold(market, _given(order.quantity))


def _same_order(existing: Order, order: ValidOrder, market: Market) -> bool:
    return (
        existing.market_id == market.pk
        and existing.side == order.side
        and existing.type == order.type
        and existing.price == order.price
        and existing.quantity == order.quantity
        and existing.quote_quantity == order.quote_quantity
        and existing.time_in_force == order.time_in_force
        and existing.post_only == order.post_only
        and existing.self_trade_prevention == order.self_trade_prevention
    )


def _existing_by_client_id(user: User, order: ValidOrder, market: Market) -> Order | None:
    if not order.client_order_id:
        return None
    existing = (
        Order.objects.select_related("market__base", "market__quote")
        .filter(user=user, client_order_id=order.client_order_id)
        .first()
    )
    if existing is None:
        return None
    if not _same_order(existing, order, market):
        raise Conflict(
            "client_order_id was used before for a different order.",
            details={"client_order_id": [order.client_order_id], "order_id": existing.pk},
        )
    return existing


def wake_engine(market: Market) -> None:
    """NOTIFY the engine (delivered when the caller's transaction commits)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [WAKEUP_CHANNEL, market.symbol])


def place_order(*, user: User, request: OrderRequest) -> tuple[Order, bool]:
    """Accept an order: return (order, created). A retry with the same client_order_id returns the first."""
    policy.require(user, policy.Activity.TRADE)
    market = market_by_symbol(request.symbol)
    order = validate(request, market)
    existing = _existing_by_client_id(user, order, market)
    if existing is not None:
        return existing, False
    if not market.accepts_orders:
        raise MarketClosed(f"{market.symbol} is {market.get_status_display().lower()}: it accepts no new orders.")
    asset, amount = _hold_for(market, order)
    try:
        with transaction.atomic(durable=True):
            created = Order.objects.create(
                market=market,
                user=user,
                client_order_id=order.client_order_id,
                side=order.side,
                type=order.type,
                price=order.price,
                quantity=order.quantity,
                quote_quantity=order.quote_quantity,
                time_in_force=order.time_in_force,
                post_only=order.post_only,
                self_trade_prevention=order.self_trade_prevention,
                held=amount,
                hold_remaining=amount,
            )
            wallet_services.hold(
                user_id=user.pk,
                asset=asset,
                amount=amount,
                idempotency_key=f"order:{created.pk}:hold",
                reference=f"order:{created.pk}",
            )
            wake_engine(market)
    except IntegrityError:
        # Two requests with one client_order_id at once: the other one won; answer as a retry would.
        existing = _existing_by_client_id(user, order, market)
        if existing is None:
            raise
        return existing, False
    return created, True


def cancel_order(*, user: User, order_id: int) -> Order:
    """Ask the engine to cancel one of the user's live orders (idempotent while the request is pending)."""
    order = Order.objects.select_related("market__base", "market__quote").filter(pk=order_id, user=user).first()
    if order is None:
        raise NotFound("No such order.")
    if not order.is_live:
        raise Conflict(f"The order is {order.status} already.", details={"status": order.status})
    if not order.market.accepts_cancels:
        raise MarketClosed(f"{order.market.symbol} is halted: cancels resume when it reopens.")
    if order.cancel_seq is not None:
        return order
    with transaction.atomic(durable=True):
        with connection.cursor() as cursor:
            cursor.execute(CANCEL_ONE_SQL, [order.pk, list(LIVE_STATUSES)])
        wake_engine(order.market)
    # Only the engine's fields: a full refresh would drop the market and assets loaded above.
    order.refresh_from_db(fields=ENGINE_FIELDS)
    return order


def cancel_all(*, user: User, market: Market | None = None) -> int:
    """Ask the engine to cancel all the user's live orders (in one market, or all); return how many.

    Orders in halted markets stay (cancels resume when the market reopens); naming a halted market
    is refused as `cancel_order` refuses it.
    """
    if market is not None and not market.accepts_cancels:
        raise MarketClosed(f"{market.symbol} is halted: cancels resume when it reopens.")
    market_id = market.pk if market else None
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute(CANCEL_ALL_SQL, [user.pk, list(LIVE_STATUSES), market_id, market_id])
        symbols = [row[0] for row in cursor.fetchall()]
        for symbol in sorted(set(symbols)):
            cursor.execute("SELECT pg_notify(%s, %s)", [WAKEUP_CHANNEL, symbol])
    return len(symbols)
