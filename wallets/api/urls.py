from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from wallets.api import admin_views, views

wallet_urlpatterns: list[URLPattern | URLResolver] = [
    path("balances", views.BalancesApi.as_view(), name="balances"),
    path("deposit", views.DepositApi.as_view(), name="deposit"),
    path("withdraw", views.WithdrawApi.as_view(), name="withdraw"),
    path("withdrawals/<int:withdrawal_id>", views.WithdrawalDetailApi.as_view(), name="withdrawal"),
    path("withdrawals/<int:withdrawal_id>/confirm", views.WithdrawalConfirmApi.as_view(), name="withdrawal-confirm"),
    path(
        "withdrawals/<int:withdrawal_id>/resend-confirmation",
        views.WithdrawalResendConfirmationApi.as_view(),
        name="withdrawal-resend-confirmation",
    ),
    path("withdrawals/<int:withdrawal_id>/cancel", views.WithdrawalCancelApi.as_view(), name="withdrawal-cancel"),
    path("transactions", views.TransactionsApi.as_view(), name="transactions"),
    path("deposit-addresses", views.DepositAddressesApi.as_view(), name="deposit-addresses"),
    path("address-book", views.AddressBookApi.as_view(), name="address-book"),
    path("address-book/<int:entry_id>", views.AddressBookEntryApi.as_view(), name="address-book-entry"),
    path("settings", views.WalletSettingsApi.as_view(), name="settings"),
]

admin_urlpatterns: list[URLPattern | URLResolver] = [
    path("wallets", admin_views.ExchangeWalletsApi.as_view(), name="wallets"),
    path("cold-wallets", admin_views.ColdWalletsApi.as_view(), name="cold-wallets"),
    path("cold-transfers", admin_views.ColdTransfersApi.as_view(), name="cold-transfers"),
    path("cold-transfers/<int:transfer_id>/approve", admin_views.ColdTransferApproveApi.as_view(), name="cold-approve"),
    path("cold-transfers/<int:transfer_id>/execute", admin_views.ColdTransferExecuteApi.as_view(), name="cold-execute"),
    path("cold-wallet-changes", admin_views.ColdWalletChangesApi.as_view(), name="cold-wallet-changes"),
    path(
        "cold-wallet-changes/<int:change_id>/approve",
        admin_views.ColdWalletChangeApproveApi.as_view(),
        name="cold-wallet-change-approve",
    ),
    path(
        "cold-wallet-changes/<int:change_id>/reject",
        admin_views.ColdWalletChangeRejectApi.as_view(),
        name="cold-wallet-change-reject",
    ),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("wallet/", include((wallet_urlpatterns, "wallet"))),
    path("admin/", include((admin_urlpatterns, "admin-api"))),
]
