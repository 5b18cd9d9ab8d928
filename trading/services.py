"""Writes for trading: placing orders and requesting cancels. The engine does everything after that.

Placing an order validates it against its market, then in **one transaction** inserts it as
`pending` (its `seq` from the command sequence) and moves its hold from available to locked; the
engine is woken by NOTIFY when that commits. A cancel is a request with a `seq` of its own, carried
out by the engine in sequence, so it can never race a fill.
"""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction

from accounts.models import User
from exchange.core.errors import Conflict, DomainError, NotFound
from kyc import policy
from trading import order_types
from trading.models import COMMAND_SEQUENCE, LIVE_STATUSES, Market, Order, SelfTradePrevention, Side, TimeInForce
from trading.order_types import OrderRequest, ValidOrder
from wallets import services as wallet_services

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


def symbol_key(symbol: object) -> str:
    """A market's symbol however it was spelt in a request ("btc-usdt ", "BTC-USDT")."""
    return str(symbol).strip().upper()


def market_by_symbol(symbol: str) -> Market:
    market = Market.objects.select_related("base", "quote").filter(symbol=symbol_key(symbol)).first()
    if market is None:
        raise NotFound(f"Unknown market {symbol!r}.", details={"symbol": ["Unknown market."]})
    return market


def kind_of(type_name: object) -> order_types.OrderKind:
    kind = order_types.get(str(type_name))
    if kind is None:
        raise order_types.refuse("type", f"type is {order_types.names_text()}.")
    return kind


def validate(request: OrderRequest, market: Market) -> ValidOrder:
    """Check an order against its market's rules; return it with parsed amounts, or raise ValidationFailed.

    The fields every order has are checked here; its type (trading.order_types) checks the rest.
    """
    refuse = order_types.refuse
    if request.side not in Side.values:
        raise refuse("side", "side is buy or sell.")
    kind = kind_of(request.type)
    if request.time_in_force not in TimeInForce.values:
        raise refuse("time_in_force", "time_in_force is GTC, IOC or FOK.")
    if request.self_trade_prevention not in SelfTradePrevention.values:
        raise refuse("self_trade_prevention", "self_trade_prevention is cancel_taker, cancel_maker or cancel_both.")
    client_order_id = str(request.client_order_id or "").strip()
    if len(client_order_id) > 64:
        raise refuse("client_order_id", "client_order_id has at most 64 characters.")
    unknown = sorted(set(request.params) - {param.name for param in kind.params})
    if unknown:
        raise refuse(unknown[0], f"A {kind.label.lower()} order has no {unknown[0]}.")

    quantity = quote_quantity = None
    if request.quantity not in (None, ""):
        quantity = order_types.on_step(
            order_types.amount(request.quantity, "quantity"), market.lot_size, "quantity", "lot size"
        )
    if request.quote_quantity not in (None, ""):
        quote_quantity = order_types.amount(request.quote_quantity, "quote_quantity")
    order = kind.validate(
        request,
        market,
        ValidOrder(
            side=request.side,
            type=kind.name,
            price=None,
            quantity=quantity,
            quote_quantity=quote_quantity,
            time_in_force=request.time_in_force,
            post_only=bool(request.post_only),
            self_trade_prevention=request.self_trade_prevention,
            client_order_id=client_order_id,
        ),
    )
    if order.quantity is not None and order.quantity < market.min_quantity:
        message = f"quantity is below the minimum of {market.min_quantity.normalize():f} {market.base}."
        raise refuse("quantity", message)
    return order


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
        and existing.params == order.params
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
    asset, amount = order_types.KINDS[order.type].hold(market, order)
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
                params=order.params,
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
