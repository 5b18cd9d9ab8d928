"""The treasury console (assets, hot and cold wallets, transfers) and the withdrawal review queue."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.selectors import authenticated_user
from exchange.errors import DomainError
from wallets import treasury, withdrawals
from wallets.models import (
    Asset,
    ColdWallet,
    ColdWalletTransfer,
    Deposit,
    JournalEntry,
    LedgerAccount,
    Posting,
    Withdrawal,
    WithdrawalStatus,
)


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}" if value else "0"


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Exchange wallets per asset: hot, cold, in transit against what users hold, and the hot band."""

    list_display = ("code", "name", "hot", "cold", "in_transit", "liabilities", "band", "deposit_enabled",
                    "withdraw_enabled")  # fmt: skip
    readonly_fields = ("hot", "cold", "in_transit", "liabilities", "band")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Asset]:
        return super().get_queryset(request).order_by("code")

    def _position(self, asset: Asset) -> treasury.WalletPosition:
        """The asset's position, computed once per row (five columns read it)."""
        cached: treasury.WalletPosition | None = getattr(asset, "_wallet_position", None)
        if cached is None:
            cached = treasury.position(asset=asset)
            asset._wallet_position = cached  # type: ignore[attr-defined]
        return cached

    @admin.display(description="Hot")
    def hot(self, asset: Asset) -> str:
        return _plain(self._position(asset).hot)

    @admin.display(description="Cold")
    def cold(self, asset: Asset) -> str:
        return _plain(self._position(asset).cold)

    @admin.display(description="In transit")
    def in_transit(self, asset: Asset) -> str:
        return _plain(self._position(asset).in_transit)

    @admin.display(description="Owed to users + fees")
    def liabilities(self, asset: Asset) -> str:
        return _plain(self._position(asset).liabilities)

    @admin.display(description="Hot floor to ceiling")
    def band(self, asset: Asset) -> str:
        where = self._position(asset)
        return f"{_plain(where.floor)} to {_plain(where.ceiling)}"


@admin.register(ColdWallet)
class ColdWalletAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("asset", "address", "label")


@admin.register(ColdWalletTransfer)
class ColdWalletTransferAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "created_at", "asset", "direction", "amount", "status", "automatic", "requested_by",
                    "approved_by", "executed_by", "txid", "completed_at")  # fmt: skip
    list_filter = ("status", "direction", "asset", "automatic")
    actions = ["approve_transfers", "execute_transfers"]
    fields = ("asset", "direction", "amount")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)  # actions only, no editing

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ColdWalletTransfer, form: Any, change: bool) -> None:
        """A refill or sweep asked for by hand goes through the treasury service, like the automatic ones."""
        created = treasury.request_transfer(
            asset=obj.asset, direction=obj.direction, amount=obj.amount, staff=authenticated_user(request)
        )
        obj.pk, obj.status = created.pk, created.status

    def _each(self, request: HttpRequest, queryset: QuerySet[ColdWalletTransfer], action: Any, done: str) -> None:
        count = 0
        for transfer in queryset.order_by("pk"):
            try:
                action(transfer_id=transfer.pk, staff=authenticated_user(request))
                count += 1
            except DomainError as error:
                self.message_user(request, f"#{transfer.pk}: {error.message}", messages.ERROR)
        if count:
            self.message_user(request, f"{count} transfer(s) {done}.")

    @admin.action(description="Approve selected refills (second approval)", permissions=["change"])
    def approve_transfers(self, request: HttpRequest, queryset: QuerySet[ColdWalletTransfer]) -> None:
        self._each(request, queryset, treasury.approve_transfer, "approved")

    @admin.action(description="Execute selected transfers", permissions=["change"])
    def execute_transfers(self, request: HttpRequest, queryset: QuerySet[ColdWalletTransfer]) -> None:
        self._each(request, queryset, treasury.execute_transfer, "executed")


@admin.register(Withdrawal)
class WithdrawalAdmin(ReadOnlyAdmin):
    """Withdrawals; those pending review are approved or rejected here by compliance."""

    list_display = ("id", "requested_at", "user", "asset", "amount", "value_usdt", "address", "status",
                    "review_reason", "reviewed_by")  # fmt: skip
    list_filter = ("status", "asset")
    search_fields = ("user__username", "address", "txid")
    actions = ["approve_withdrawals", "reject_withdrawals"]

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        if not request.user.has_perm("wallets.review_withdrawal"):
            actions.pop("approve_withdrawals", None)
            actions.pop("reject_withdrawals", None)
        return actions

    def _review(self, request: HttpRequest, queryset: QuerySet[Withdrawal], approve: bool) -> None:
        count = 0
        for withdrawal in queryset.filter(status=WithdrawalStatus.PENDING_REVIEW):
            try:
                withdrawals.review_withdrawal(
                    staff=authenticated_user(request),
                    withdrawal_id=withdrawal.pk,
                    approve=approve,
                    reason="" if approve else "It did not pass the compliance review",
                )
                count += 1
            except DomainError as error:
                self.message_user(request, f"#{withdrawal.pk}: {error.message}", messages.ERROR)
        self.message_user(request, f"{count} withdrawal(s) {'approved' if approve else 'rejected and refunded'}.")

    @admin.action(description="Approve selected withdrawals held for review")
    def approve_withdrawals(self, request: HttpRequest, queryset: QuerySet[Withdrawal]) -> None:
        self._review(request, queryset, approve=True)

    @admin.action(description="Reject selected withdrawals held for review (funds returned)")
    def reject_withdrawals(self, request: HttpRequest, queryset: QuerySet[Withdrawal]) -> None:
        self._review(request, queryset, approve=False)


@admin.register(Deposit)
class DepositAdmin(ReadOnlyAdmin):
    list_display = ("id", "seen_at", "user", "asset", "amount", "confirmations", "status", "txid", "credited_at")
    list_filter = ("status", "asset")
    search_fields = ("user__username", "txid")


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ("id", "asset", "kind", "user", "balance")
    list_filter = ("asset", "kind")
    search_fields = ("user__username",)


class PostingInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Posting
    fields = ("account", "amount")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "kind", "reference", "memo", "idempotency_key")
    list_filter = ("kind",)
    search_fields = ("reference", "idempotency_key", "memo")
    inlines = [PostingInline]
