"""/api/trading: place, list, read and cancel orders; a market's order book and recent trades."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import authenticated_user
from exchange.core.errors import ValidationFailed
from exchange.core.pagination import Pagination, paginated
from exchange.core.scopes import Scope
from kyc import policy
from kyc.permissions import policy_permission
from trading import order_types, selectors, services
from trading.models import SelfTradePrevention, Side, TimeInForce
from trading.payloads import (
    CANCEL_ALL_SCHEMA,
    FILL_SCHEMA,
    ORDER_BOOK_SCHEMA,
    PUBLIC_TRADE_SCHEMA,
    OrderSerializer,
    book_payload,
    cancel_all_payload,
    fill_payload,
    order_payload,
    public_trade_payload,
)

MAX_TRADES = 500


# The fields every order has; `order_input` adds each order type's own (no docstring: the schema would show it).
class OrderInput(serializers.Serializer[Any]):
    symbol = serializers.CharField(max_length=33)
    side = serializers.ChoiceField(choices=Side.choices)
    type = serializers.ChoiceField(choices=order_types.choices())
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

    def order_request(self) -> order_types.OrderRequest:
        values = dict(self.validated_data)
        params = {name: values.pop(name) for name in order_types.params() if name in values}
        return order_types.OrderRequest(**values, params=params)


def order_input() -> type[OrderInput]:
    """The order input with a field for each amount of an order type's own (a stop price, say)."""
    fields: dict[str, object] = {
        name: serializers.JSONField(required=False, help_text=f"{param.help_text} ({param.label}, as a string.)")
        for name, param in order_types.params().items()
    }
    if not fields:
        return OrderInput
    attrs = {"__module__": __name__, "Meta": OrderInput.Meta, **fields}
    return cast("type[OrderInput]", serializers.SerializerMetaclass("OrderInput", (OrderInput,), attrs))


class OrdersApi(APIView):
    required_scopes = {"GET": Scope.READ, "POST": Scope.TRADE, "DELETE": Scope.TRADE}
    rate_limit_scopes = {"POST": "order"}
    InputSerializer = order_input()

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
        order, created = services.place_order(user=authenticated_user(request), request=data.order_request())
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
        responses={202: CANCEL_ALL_SCHEMA},
        description="Request the cancel of all your live orders (in one market with `symbol`).",
    )
    def delete(self, request: Request) -> Response:
        symbol = request.query_params.get("symbol")
        market = services.market_by_symbol(symbol) if symbol else None
        count = services.cancel_all(user=authenticated_user(request), market=market)
        return Response(cancel_all_payload(count), status=status.HTTP_202_ACCEPTED)


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
        responses={200: paginated("FillPage", FILL_SCHEMA)},
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


class OrderBookApi(APIView):
    required_scopes = {"GET": Scope.READ}
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("depth", int, required=False, description="Levels per side (1-500, 50).")],
        responses={200: ORDER_BOOK_SCHEMA},
        description="Price levels best first, as [price, quantity]; `seq` is the book update it reflects.",
    )
    def get(self, request: Request, symbol: str) -> Response:
        depth = bounded_int(request, "depth", 50, selectors.MAX_DEPTH)
        market = services.market_by_symbol(symbol)
        return Response(book_payload(market, selectors.order_book(market=market, depth=depth)))


class TradesApi(APIView):
    required_scopes = {"GET": Scope.READ}
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("limit", int, required=False, description="How many (1-500, 50).")],
        responses={200: PUBLIC_TRADE_SCHEMA},
        description="The market's most recent trades, newest first.",
    )
    def get(self, request: Request, symbol: str) -> Response:
        market = services.market_by_symbol(symbol)
        limit = bounded_int(request, "limit", 50, MAX_TRADES)
        base, quote = market.base.decimals, market.quote.decimals
        return Response(
            [
                public_trade_payload(trade, trade.created_at, quote, base)
                for trade in selectors.recent_trades(market=market, limit=limit)
            ]
        )
