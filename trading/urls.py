from __future__ import annotations

from django.urls import path

from trading import views

app_name = "trading"

urlpatterns = [
    path("markets", views.markets_view, name="markets"),
    path("trade", views.trade_index_view, name="index"),
    path("trade/<str:symbol>", views.trade_view, name="trade"),
    path("trade/<str:symbol>/orders/<int:order_id>/cancel", views.order_cancel_view, name="order-cancel"),
    path("trade/<str:symbol>/orders/cancel-all", views.cancel_all_view, name="cancel-all"),
]
