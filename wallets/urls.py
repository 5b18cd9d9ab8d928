from __future__ import annotations

from django.urls import path

from wallets import views

app_name = "wallets"

urlpatterns = [
    path("wallet", views.overview_view, name="overview"),
    path("wallet/withdrawals/<int:withdrawal_id>/confirm", views.withdrawal_confirm_view, name="withdrawal-confirm"),
]
