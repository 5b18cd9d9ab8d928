from __future__ import annotations

from django.urls import path

from wallets import views

app_name = "wallets"

urlpatterns = [
    path("wallet", views.overview_view, name="overview"),
    path("wallet/deposit", views.deposit_view, name="deposit"),
    path("wallet/withdraw", views.withdraw_view, name="withdraw"),
    path("wallet/history", views.history_view, name="history"),
    path("wallet/withdrawals/<int:withdrawal_id>", views.withdrawal_view, name="withdrawal"),
    path("wallet/withdrawals/<int:withdrawal_id>/resend", views.withdrawal_resend_view, name="withdrawal-resend"),
    path("wallet/withdrawals/<int:withdrawal_id>/cancel", views.withdrawal_cancel_view, name="withdrawal-cancel"),
    path("wallet/withdrawals/<int:withdrawal_id>/confirm", views.withdrawal_confirm_view, name="withdrawal-confirm"),
]
