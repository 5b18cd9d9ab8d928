from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from trading.api import market_views, views

trading_urlpatterns: list[URLPattern | URLResolver] = [
    path("orders", views.OrdersApi.as_view(), name="orders"),
    path("orders/<int:order_id>", views.OrderDetailApi.as_view(), name="order"),
    path("fills", views.FillsApi.as_view(), name="fills"),
    path("orderbook/<str:symbol>", views.OrderBookApi.as_view(), name="orderbook"),
    path("trades/<str:symbol>", views.TradesApi.as_view(), name="trades"),
]

market_urlpatterns: list[URLPattern | URLResolver] = [
    path("pairs", market_views.PairsApi.as_view(), name="pairs"),
    path("prices", market_views.PricesApi.as_view(), name="prices"),
    path("ticker/<str:symbol>", market_views.TickerApi.as_view(), name="ticker"),
    path("stats", market_views.StatsApi.as_view(), name="stats"),
    path("candles/<str:symbol>", market_views.CandlesApi.as_view(), name="candles"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("trading/", include((trading_urlpatterns, "trading"))),
    path("market/", include((market_urlpatterns, "market"))),
]
