"""/api/trading: place, list, read and cancel orders; a market's order book and recent trades."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import authenticated_user
from exchange.core.errors import ValidationFailed
from exchange.core.money import plain
from exchange.core.pagination import Pagination, paginated
from exchange.core.scopes import Scope
from kyc import policy
from kyc.permissions import policy_permission
from trading import selectors, services
from trading.models import Market, Order, OrderType, SelfTradePrevention, Side, TimeInForce, Trade

MAX_TRADES = 500


def _optional(value: Any, places: int) -> str | None:
    return None if value is None else plain(value, places)


def order_payload(order: Order) -> dict[str, Any]:
    market = order.market
    base, quote = market.base.decimals, market.quote.decimals
    average = order.average_price
    return {
        "id": order.pk,
        "symbol": market.symbol,
        "side": order.side,
        "type": order.type,
        "price": _optional(order.price, quote),
        "quantity": _optional(order.quantity, base),
        "quote_quantity": _optional(order.quote_quantity, quote),
        "time_in_force": order.time_in_force,
        "post_only": order.post_only,
        "self_trade_prevention": order.self_trade_prevention,
        "client_order_id": order.client_order_id or None,
        "status": order.status,
        "filled_quantity": plain(order.filled_quantity, base),
        "filled_quote": plain(order.filled_quote, quote),
        "average_price": None if average is None else plain(average, quote),
        "fee": plain(order.fee, base if order.side == Side.BUY else quote),
        "fee_asset": (market.base if order.side == Side.BUY else market.quote).code,
        "cancel_requested": order.cancel_seq is not None,
        "reason": order.reason or None,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }


def fill_payload(trade: Trade, user_id: int) -> dict[str, Any]:
    market = trade.market
    maker = trade.maker_user_id == user_id
    order = trade.maker_order if maker else trade.taker_order
    side = order.side
    fee_asset = market.base if side == Side.BUY else market.quote
    return {
        "id": trade.pk,
        "symbol": market.symbol,
        "order_id": order.pk,
        "side": side,
        "role": "maker" if maker else "taker",
        "price": plain(trade.price, market.quote.decimals),
        "quantity": plain(trade.quantity, market.base.decimals),
        "quote_quantity": plain(trade.quote_quantity, market.quote.decimals),
        "fee": plain(trade.maker_fee if maker else trade.taker_fee, fee_asset.decimals),
        "fee_asset": fee_asset.code,
        "time": trade.created_at,
    }


class OrderSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    symbol = serializers.CharField()
    side = serializers.ChoiceField(choices=Side.choices)
    type = serializers.ChoiceField(choices=OrderType.choices)
    price = serializers.CharField(allow_null=True)
    quantity = serializers.CharField(allow_null=True)
    quote_quantity = serializers.CharField(allow_null=True)
    time_in_force = serializers.ChoiceField(choices=TimeInForce.choices)
    post_only = serializers.BooleanField()
    self_trade_prevention = serializers.ChoiceField(choices=SelfTradePrevention.choices)
    client_order_id = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    filled_quantity = serializers.CharField()
    filled_quote = serializers.CharField()
    average_price = serializers.CharField(allow_null=True)
    fee = serializers.CharField()
    fee_asset = serializers.CharField()
    cancel_requested = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class OrdersApi(APIView):
    required_scopes = {"GET": Scope.READ, "POST": Scope.TRADE, "DELETE": Scope.TRADE}
    rate_limit_scopes = {"POST": "order"}

    class InputSerializer(serializers.Serializer[Any]):
        symbol = serializers.CharField(max_length=33)
        side = serializers.ChoiceField(choices=Side.choices)
        type = serializers.ChoiceField(choices=OrderType.choices)
        price = serializers.JSONField(required=False, help_text='A string, such as "60000.00" (limit orders).')
        quantity = serializers.JSONField(required=False, help_text="Base asset amount, as a string.")
        quote_quantity = serializers.JSONField(required=False, help_text="Market buys: quote asset amount to spend.")
        time_in_force = serializers.ChoiceField(choices=TimeInForce.choices, default=TimeInForce.GTC)
        post_only = serializers.BooleanField(default=False)
        self_trade_prevention = serializers.ChoiceField(
            choices=SelfTradePrevention.choices, default=SelfTradePrevention.CANCEL_TAKER
        )
        client_order_id = serializers.CharField(max_length=64, required=False, allow_blank=True)

        class Meta:
            ref_name = "OrderInput"

    def get_permissions(self) -> Any:
        if self.request.method == "POST":
            return [policy_permission(policy.Activity.TRADE)()]
        return super().get_permissions()

    @extend_schema(
        request=InputSerializer,
        responses={201: OrderSerializer, 200: OrderSerializer},
        description="Place an order. 201 when accepted (status `pending`: the engine takes it from there); "
        "200 with the first order when `client_order_id` was used before for the same order.",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order, created = services.place_order(
            user=authenticated_user(request), request=services.OrderRequest(**data.validated_data)
        )
        # The order comes back with its market and assets loaded: no need to read it again.
        return Response(order_payload(order), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=["open", "closed"], required=False),
            OpenApiParameter("symbol", str, required=False),
        ],
        responses={200: paginated("OrderPage", OrderSerializer(many=True))},
        operation_id="trading_orders_list",
    )
    def get(self, request: Request) -> Response:
        symbol = request.query_params.get("symbol")
        market = services.market_by_symbol(symbol) if symbol else None
        orders = selectors.orders_of(
            user=authenticated_user(request), status=request.query_params.get("status") or None, market=market
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(orders, request, self) or []
        return paginator.get_paginated_response([order_payload(order) for order in page])

    @extend_schema(
        operation_id="trading_orders_cancel_all",
        parameters=[OpenApiParameter("symbol", str, required=False)],
        request=None,
        responses={202: inline_serializer("CancelAll", {"cancel_requested": serializers.IntegerField()})},
        description="Request the cancel of all your live orders (in one market with `symbol`).",
    )
    def delete(self, request: Request) -> Response:
        symbol = request.query_params.get("symbol")
        market = services.market_by_symbol(symbol) if symbol else None
        count = services.cancel_all(user=authenticated_user(request), market=market)
        return Response({"cancel_requested": count}, status=status.HTTP_202_ACCEPTED)


class OrderDetailApi(APIView):
    required_scopes = {"GET": Scope.READ, "DELETE": Scope.TRADE}

    @extend_schema(responses={200: OrderSerializer})
    def get(self, request: Request, order_id: int) -> Response:
        return Response(order_payload(selectors.order_of(user=authenticated_user(request), order_id=order_id)))

    @extend_schema(
        request=None,
        responses={202: OrderSerializer},
        description="Request the cancel; the engine carries it out in sequence (`cancel_requested` is true "
        "until then). 409 when the order is finished already.",
    )
    def delete(self, request: Request, order_id: int) -> Response:
        order = services.cancel_order(user=authenticated_user(request), order_id=order_id)
        return Response(order_payload(order), status=status.HTTP_202_ACCEPTED)


class FillsApi(APIView):
    required_scopes = {"GET": Scope.READ}

    @extend_schema(
        parameters=[OpenApiParameter("symbol", str, required=False)],
        responses={
            200: paginated(
                "FillPage",
                inline_serializer(
                    "Fill",
                    {
                        "id": serializers.IntegerField(),
                        "symbol": serializers.CharField(),
                        "order_id": serializers.IntegerField(),
                        "side": serializers.CharField(),
                        "role": serializers.ChoiceField(choices=["maker", "taker"]),
                        "price": serializers.CharField(),
                        "quantity": serializers.CharField(),
                        "quote_quantity": serializers.CharField(),
                        "fee": serializers.CharField(),
                        "fee_asset": serializers.CharField(),
                        "time": serializers.DateTimeField(),
                    },
                    many=True,
                ),
            )
        },
        description="Your trades (fills), newest first.",
    )
    def get(self, request: Request) -> Response:
        user = authenticated_user(request)
        symbol = request.query_params.get("symbol")
        fills = selectors.fills_of(user=user, market=services.market_by_symbol(symbol) if symbol else None)
        paginator = Pagination()
        page = paginator.paginate_queryset(fills, request, self) or []
        return paginator.get_paginated_response([fill_payload(trade, user.pk) for trade in page])


def bounded_int(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    # ASCII digits only, judged on their length first: int() also takes "1_0", " 5" and other scripts' digits.
    value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= len(str(maximum)) else 0
    if not 1 <= value <= maximum:
        raise ValidationFailed(f"{name} is a whole number from 1 to {maximum}.", details={name: [f"1 to {maximum}"]})
    return value


def book_payload(market: Market, depth: int) -> dict[str, Any]:
    book = selectors.order_book(market=market, depth=depth)
    base, quote = market.base.decimals, market.quote.decimals
    return {
        "symbol": market.symbol,
        "seq": book.seq,
        "bids": [[plain(price, quote), plain(total, base)] for price, total in book.bids],
        "asks": [[plain(price, quote), plain(total, base)] for price, total in book.asks],
    }


class OrderBookApi(APIView):
    required_scopes = {"GET": Scope.READ}
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("depth", int, required=False, description="Levels per side (1-500, 50).")],
        responses={
            200: inline_serializer(
                "OrderBook",
                {
                    "symbol": serializers.CharField(),
                    "seq": serializers.IntegerField(),
                    "bids": serializers.ListField(child=serializers.ListField(child=serializers.CharField())),
                    "asks": serializers.ListField(child=serializers.ListField(child=serializers.CharField())),
                },
            )
        },
        description="Price levels best first, as [price, quantity]; `seq` is the book update it reflects.",
    )
    def get(self, request: Request, symbol: str) -> Response:
        depth = bounded_int(request, "depth", 50, selectors.MAX_DEPTH)
        return Response(book_payload(services.market_by_symbol(symbol), depth))


class TradesApi(APIView):
    required_scopes = {"GET": Scope.READ}
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("limit", int, required=False, description="How many (1-500, 50).")],
        responses={
            200: inline_serializer(
                "PublicTrade",
                {
                    "id": serializers.IntegerField(),
                    "price": serializers.CharField(),
                    "quantity": serializers.CharField(),
                    "taker_side": serializers.ChoiceField(choices=Side.choices),
                    "time": serializers.DateTimeField(),
                },
                many=True,
            )
        },
        description="The market's most recent trades, newest first.",
    )
    def get(self, request: Request, symbol: str) -> Response:
        market = services.market_by_symbol(symbol)
        limit = bounded_int(request, "limit", 50, MAX_TRADES)
        base, quote = market.base.decimals, market.quote.decimals
        return Response(
            [
                {
                    "id": trade.pk,
                    "price": plain(trade.price, quote),
                    "quantity": plain(trade.quantity, base),
                    "taker_side": trade.taker_side,
                    "time": trade.created_at,
                }
                for trade in selectors.recent_trades(market=market, limit=limit)
            ]
        )
