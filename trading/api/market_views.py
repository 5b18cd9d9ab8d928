"""/api/market: public market data — pairs, prices, tickers, exchange statistics, candles."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.core.errors import ValidationFailed
from exchange.core.scopes import Scope
from trading import marketdata, services
from trading.api.views import bounded_int
from trading.payloads import (
    CANDLE_SCHEMA,
    PAIR_SCHEMA,
    PRICE_SCHEMA,
    STATS_SCHEMA,
    TICKER_SCHEMA,
    candle_payload,
    pair_payload,
    price_payload,
    stats_payload,
    ticker_payload,
)


class PairsApi(APIView):
    required_scopes = {"GET": Scope.READ}
    permission_classes = [AllowAny]

    @extend_schema(responses={200: PAIR_SCHEMA}, description="Every market with its rules and status.")
    def get(self, request: Request) -> Response:
        return Response([pair_payload(market) for market in marketdata.markets()])


class PricesApi(APIView):
    required_scopes = {"GET": Scope.READ}
    permission_classes = [AllowAny]

    @extend_schema(
        responses={200: PRICE_SCHEMA},
        description="The last trade price of every market (null before its first trade).",
    )
    def get(self, request: Request) -> Response:
        return Response([price_payload(market) for market in marketdata.markets()])


class TickerApi(APIView):
    required_scopes = {"GET": Scope.READ}
    permission_classes = [AllowAny]

    @extend_schema(responses={200: TICKER_SCHEMA}, description="The last 24 hours of one market, and its best prices.")
    def get(self, request: Request, symbol: str) -> Response:
        key = services.symbol_key(symbol)
        cached = _TICKERS.get(key)
        now = time.monotonic()
        if cached is not None and (now - cached[0]) * 1000 < settings.TICKER_CACHE_MS:
            return Response(cached[1])
        market = services.market_by_symbol(symbol)
        payload = ticker_payload(marketdata.ticker(market), market.quote.decimals, market.base.decimals)
        if settings.TICKER_CACHE_MS:
            _TICKERS[key] = (now, payload)  # only markets that exist: as many entries as there are markets
        return Response(payload)


# Per web worker: each market's last ticker and when it was computed (TICKER_CACHE_MS).
_TICKERS: dict[str, tuple[float, dict[str, Any]]] = {}


class StatsApi(APIView):
    required_scopes = {"GET": Scope.READ}
    permission_classes = [AllowAny]

    @extend_schema(
        responses={200: STATS_SCHEMA},
        description="Exchange-wide: 24-hour volume (valued in USDT), trades, markets and users.",
    )
    def get(self, request: Request) -> Response:
        return Response(stats_payload(marketdata.stats()))


LATEST = datetime(3000, 1, 1, tzinfo=UTC)  # candles are asked for between the epoch and this
LATEST_MS = (LATEST - marketdata.EPOCH) // timedelta(milliseconds=1)


def _moment(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if not raw:
        return None

    def refuse(message: str) -> ValidationFailed:
        return ValidationFailed(f"{name}: {message}", details={name: [message]})

    # Checked on the digits before any arithmetic: a huge number or year 99999 is a 400, not an overflow.
    if raw.isascii() and raw.isdigit():  # milliseconds since the epoch, as the signed API uses
        if len(raw) > len(str(LATEST_MS)) or int(raw) >= LATEST_MS:
            raise refuse(f"Milliseconds since the epoch, below {LATEST_MS} (the year {LATEST.year}).")
        return marketdata.EPOCH + timedelta(milliseconds=int(raw))
    try:
        parsed = parse_datetime(raw)
        in_range = parsed is not None and parsed.tzinfo is not None and marketdata.EPOCH <= parsed < LATEST
    except (ValueError, OverflowError):  # well formed but no real time: 2026-02-30, an offset of 30 hours
        parsed, in_range = None, False
    if parsed is None or not in_range:
        raise refuse(
            "An ISO 8601 time with its offset (2026-01-01T00:00:00Z) or milliseconds since the epoch, "
            f"from 1970 to before {LATEST.year}."
        )
    return parsed


class CandlesApi(APIView):
    required_scopes = {"GET": Scope.READ}
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("interval", str, enum=list(marketdata.INTERVALS), required=False, description="1m"),
            OpenApiParameter("start", str, required=False, description="ISO 8601 or epoch milliseconds."),
            OpenApiParameter("end", str, required=False, description="ISO 8601 or epoch milliseconds (now)."),
            OpenApiParameter("limit", int, required=False, description=f"1-{marketdata.MAX_CANDLES} (500)."),
        ],
        responses={200: CANDLE_SCHEMA},
        description="Candles in ascending time, the open one last; quiet buckets are flat at the previous close.",
    )
    def get(self, request: Request, symbol: str) -> Response:
        market = services.market_by_symbol(symbol)
        interval = request.query_params.get("interval") or "1m"
        if interval not in marketdata.INTERVALS:
            choices = ", ".join(marketdata.INTERVALS)
            raise ValidationFailed(f"interval is one of {choices}.", details={"interval": [choices]})
        start, end = _moment(request, "start"), _moment(request, "end")
        if start and end and start > end:
            raise ValidationFailed("start is after end.", details={"start": ["after end"]})
        limit = bounded_int(request, "limit", 500, marketdata.MAX_CANDLES)
        rows = marketdata.candles(market=market, interval=interval, start=start, end=end, limit=limit)
        places = market.quote.decimals, market.base.decimals
        return Response([candle_payload(row, *places) for row in rows])
