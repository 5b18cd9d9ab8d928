from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from trading.api import views

trading_urlpatterns: list[URLPattern | URLResolver] = [
    path("orders", views.OrdersApi.as_view(), name="orders"),
    path("orders/<int:order_id>", views.OrderDetailApi.as_view(), name="order"),
    path("fills", views.FillsApi.as_view(), name="fills"),
    path("orderbook/<str:symbol>", views.OrderBookApi.as_view(), name="orderbook"),
    path("trades/<str:symbol>", views.TradesApi.as_view(), name="trades"),
]
