"""The treasury console (assets, hot and cold wallets, transfers) and the withdrawal review queue.

Amounts show at their asset's precision with their USDT value; whatever moves money (a transfer asked
for, executed or approved, a withdrawal approved or rejected) asks "are you sure?" first, and is
checked by the same service the API calls, its refusal shown next to the field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.selectors import authenticated_user
from exchange.core.admin import (
    ConfirmationLine,
    PricedAdmin,
    ReadOnlyAdmin,
    UsdtPrices,
    change_link,
    confirmation_page,
    confirmed,
    decide_each,
    format_amount,
    format_usdt,
    money,
    money_text,
    plural,
    usdt,
)
from exchange.core.errors import DomainError, ValidationFailed
from exchange.core.money import parse_amount
from wallets import services, treasury, withdrawals
from wallets.models import (
    Asset,
    ColdWallet,
    ColdWalletAddressChange,
    ColdWalletTransfer,
    ColdWalletTransferDirection,
    Deposit,
    DepositStatus,
    JournalEntry,
    LedgerAccount,
    Posting,
    Withdrawal,
    WithdrawalStatus,
)


@admin.register(Asset)
class AssetAdmin(PricedAdmin):
    """Exchange wallets per asset: hot, cold, in transit against what users hold, and the hot band."""

    list_display = ("code", "name", "hot", "cold", "in_transit", "liabilities", "band", "deposit_enabled",
                    "withdraw_enabled")  # fmt: skip
    readonly_fields = ("hot", "cold", "in_transit", "liabilities", "band")
    priced_columns = ("hot", "cold", "in_transit", "liabilities")

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
    def hot(self, asset: Asset, prices: UsdtPrices | None = None) -> SafeString | str:
        return money(self._position(asset).hot, asset, prices)

    @admin.display(description="Cold")
    def cold(self, asset: Asset, prices: UsdtPrices | None = None) -> SafeString | str:
        return money(self._position(asset).cold, asset, prices)

    @admin.display(description="In transit")
    def in_transit(self, asset: Asset, prices: UsdtPrices | None = None) -> SafeString | str:
        return money(self._position(asset).in_transit, asset, prices)

    @admin.display(description="Owed to users + fees")
    def liabilities(self, asset: Asset, prices: UsdtPrices | None = None) -> SafeString | str:
        return money(self._position(asset).liabilities, asset, prices)

    @admin.display(description="Hot floor to ceiling")
    def band(self, asset: Asset) -> SafeString:
        where = self._position(asset)
        state = "below" if where.hot < where.floor else "above" if where.hot > where.ceiling else "inside"
        return format_html(
            '<span class="money band-{}">{} to<br>{}</span>',
            state,
            format_amount(where.floor, decimals=asset.decimals),
            format_amount(where.ceiling, decimals=asset.decimals),
        )


@admin.register(ColdWallet)
class ColdWalletAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The address is never edited here: a change is a request a second person approves (below)."""

    list_display = ("asset", "address", "label")
    readonly_fields = ("asset", "address")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made by the asset set-up, or by an approved address change

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ColdAddressChangeForm(forms.ModelForm):  # type: ignore[type-arg]
    """Asks for a new address the way the API does: checked by `treasury.plan_cold_address_change`."""

    class Meta:
        model = ColdWalletAddressChange
        fields = ("asset", "new_address")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("asset") is not None and data.get("new_address"):
            try:
                data["new_address"] = treasury.plan_cold_address_change(
                    asset=data["asset"], address=data["new_address"]
                )
            except DomainError as error:
                for problem in (error.details or {}).get("address", [error.message]):
                    self.add_error("new_address", problem)
        return data


@admin.register(ColdWalletAddressChange)
class ColdWalletAddressChangeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Cold-wallet address changes: asked for here, applied when a second, different person approves."""

    list_display = ("id", "requested_at", "asset", "old_address", "new_address", "status", "requested_by",
                    "decided_by", "decided_at")  # fmt: skip
    list_filter = ("status", "asset")
    list_select_related = ("asset", "requested_by", "decided_by")
    fields = ("asset", "new_address")
    form = ColdAddressChangeForm
    actions = ["approve_changes", "reject_changes"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)  # actions only, no editing

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ColdWalletAddressChange, form: Any, change: bool) -> None:
        created = treasury.request_cold_address_change(
            asset=obj.asset, address=obj.new_address, staff=authenticated_user(request)
        )
        obj.pk = created.pk

    def _decide(
        self,
        request: HttpRequest,
        queryset: QuerySet[ColdWalletAddressChange],
        *,
        action: Any,
        question: str,
        consequence: str,
        button: str,
        done: str,
    ) -> HttpResponse | None:
        """Ask "are you sure?" (naming each old and new address), then decide each change through the service."""
        if not confirmed(request):
            lines = [
                ConfirmationLine(
                    label=f"#{change.pk}",
                    link=change_link(change),
                    detail=f"{change.asset.code}: {change.old_address or '(none)'} → {change.new_address}, asked "
                    f"for by {change.requested_by}",
                )
                for change in queryset.select_related("asset", "requested_by").order_by("pk")
            ]
            return confirmation_page(
                self, request, queryset, question=question, consequence=consequence, lines=lines, button=button
            )
        count = 0
        for change in queryset.order_by("pk"):
            try:
                action(change_id=change.pk, staff=authenticated_user(request))
                count += 1
            except DomainError as error:
                self.message_user(request, f"#{change.pk}: {error.message}", messages.ERROR)
        if count:
            self.message_user(request, f"{plural(count, 'address change')} {done}.")
        return None

    @admin.action(description="Approve selected address changes (second approval)", permissions=["change"])
    def approve_changes(self, request: HttpRequest, queryset: QuerySet[ColdWalletAddressChange]) -> HttpResponse | None:
        return self._decide(
            request,
            queryset,
            action=treasury.approve_cold_address_change,
            question="Send every sweep to the cold wallet at these addresses from now on?",
            consequence="Check each address with whoever holds its keys first: funds sent to a wrong one are lost.",
            button="Yes, approve",
            done="applied",
        )

    @admin.action(description="Reject selected address changes", permissions=["change"])
    def reject_changes(self, request: HttpRequest, queryset: QuerySet[ColdWalletAddressChange]) -> HttpResponse | None:
        return self._decide(
            request,
            queryset,
            action=treasury.reject_cold_address_change,
            question="Reject these address changes?",
            consequence="The cold wallets keep their addresses.",
            button="Yes, reject",
            done="rejected",
        )


class ColdTransferForm(forms.ModelForm):  # type: ignore[type-arg]
    """Asks for a transfer the way the API does: parsed by `parse_amount`, checked by `treasury.plan_transfer`."""

    amount = forms.CharField(
        max_length=64,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": 24}),
        help_text="In units of the asset, at most its precision. It must leave the hot wallet inside its band.",
    )

    class Meta:
        model = ColdWalletTransfer
        fields = ("asset", "direction", "amount")

    plan: treasury.TransferPlan | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        asset, direction, raw = data.get("asset"), data.get("direction"), data.get("amount")
        if asset is None or not direction or raw is None:
            return data
        try:
            self.plan = treasury.plan_transfer(asset=asset, direction=direction, amount=parse_amount(raw, asset=asset))
        except ValidationFailed as error:
            for field, problems in (error.details or {"amount": [error.message]}).items():
                for problem in problems:
                    self.add_error(field if field in self.fields else None, problem)
            return data
        if not ColdWallet.objects.filter(asset=asset).exists():
            self.add_error("asset", f"{asset.code} has no cold wallet configured.")
        data["amount"] = self.plan.amount
        return data


def _wallets(direction: str) -> tuple[str, str]:
    return ("hot", "cold") if direction == ColdWalletTransferDirection.TO_COLD else ("cold", "hot")


@admin.register(ColdWalletTransfer)
class ColdWalletTransferAdmin(PricedAdmin):
    list_display = ("id", "created_at", "asset", "direction", "amount_shown", "status", "automatic", "requested_by",
                    "approved_by", "executed_by", "txid", "completed_at")  # fmt: skip
    list_filter = ("status", "direction", "asset", "automatic")
    list_select_related = ("asset", "requested_by", "approved_by", "executed_by")
    actions = ["approve_transfers", "execute_transfers"]
    fields = ("asset", "direction", "amount")
    form = ColdTransferForm
    priced_columns = ("amount_shown",)

    @admin.display(description="Amount", ordering="amount")
    def amount_shown(self, transfer: ColdWalletTransfer, prices: UsdtPrices | None = None) -> SafeString | str:
        return money(transfer.amount, transfer.asset, prices)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)  # actions only, no editing

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None) -> Any:
        """A valid form is not recorded yet: the page asks "move X from hot to cold?" first."""
        if request.method == "POST" and "_confirmed" not in request.POST and self.has_add_permission(request):
            form = self.get_form(request, None, change=False)(request.POST)
            if isinstance(form, ColdTransferForm) and form.is_valid() and form.plan is not None:
                return self._confirm_request(request, form, form.plan)
        return super().add_view(request, form_url, extra_context)

    def _confirm_request(self, request: HttpRequest, form: Any, plan: treasury.TransferPlan) -> TemplateResponse:
        asset, prices = plan.asset, UsdtPrices()
        source, target = _wallets(plan.direction)
        amount = format_amount(plan.amount, decimals=asset.decimals)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Move {amount} {asset.code} from the {source} wallet to the {target} wallet?",
            "plan": plan,
            "amount": money(plan.amount, asset, prices, code=True),
            "rows": [
                ("Hot wallet", money(plan.now.hot, asset, prices), money(plan.hot_after, asset, prices)),
                ("Cold wallet", money(plan.now.cold, asset, prices), money(plan.cold_after, asset, prices)),
            ],
            "band": f"{format_amount(plan.now.floor, decimals=asset.decimals)} to "
            f"{format_amount(plan.now.ceiling, decimals=asset.decimals)} {asset.code}",
            "hidden": [(name, form.data.get(name, "")) for name in ("asset", "direction", "amount")],
            "cold_address": asset.cold_wallet.address,
        }
        return TemplateResponse(request, "admin/wallets/coldwallettransfer/confirm_request.html", context)

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
            self.message_user(request, f"{plural(count, 'transfer')} {done}.")

    def _lines(self, queryset: QuerySet[ColdWalletTransfer]) -> list[ConfirmationLine]:
        prices = UsdtPrices()
        lines = []
        for transfer in queryset.select_related("asset", "requested_by").order_by("pk"):
            source, target = _wallets(transfer.direction)
            who = f", asked for by {transfer.requested_by}" if transfer.requested_by else " (automatic)"
            lines.append(
                ConfirmationLine(
                    label=f"#{transfer.pk}",
                    link=change_link(transfer),
                    detail=f"{money_text(transfer.amount, transfer.asset, prices)} from the {source} wallet to "
                    f"the {target} wallet{who}",
                )
            )
        return lines

    @admin.action(description="Approve selected refills (second approval)", permissions=["change"])
    def approve_transfers(self, request: HttpRequest, queryset: QuerySet[ColdWalletTransfer]) -> HttpResponse | None:
        if not confirmed(request):
            count = queryset.count()
            return confirmation_page(
                self,
                request,
                queryset,
                question=f"Approve {plural(count, 'refill')}?",
                consequence="You are the second pair of eyes: once approved, another treasury member can execute it.",
                lines=self._lines(queryset),
                button="Yes, approve",
            )
        self._each(request, queryset, treasury.approve_transfer, "approved")
        return None

    @admin.action(description="Execute selected transfers", permissions=["change"])
    def execute_transfers(self, request: HttpRequest, queryset: QuerySet[ColdWalletTransfer]) -> HttpResponse | None:
        if not confirmed(request):
            count = queryset.count()
            return confirmation_page(
                self,
                request,
                queryset,
                question=f"Execute {plural(count, 'transfer')}?",
                consequence="The funds leave their source wallet now and are broadcast to the network.",
                lines=self._lines(queryset),
                button="Yes, move the funds",
            )
        self._each(request, queryset, treasury.execute_transfer, "executed")
        return None


class ReasonForm(forms.Form):
    """The reason a user reads when staff reject something of theirs."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=300, help_text="The user reads this."
    )


@admin.register(Withdrawal)
class WithdrawalAdmin(ReadOnlyAdmin):
    """Withdrawals; those pending review are approved or rejected here by compliance."""

    list_display = ("id", "requested_at", "user", "asset", "amount_shown", "value", "address_shown", "status",
                    "review_reason", "reviewed_by")  # fmt: skip
    list_filter = ("status", "asset")
    list_select_related = ("user", "asset", "reviewed_by")
    search_fields = ("user__username", "address", "txid")
    actions = ["approve_withdrawals", "reject_withdrawals"]
    fields = ("user", "asset", "amount_shown", "fee_shown", "value", "address", "status", "review_reason",
              "reviewed_by", "failure_reason", "txid", "client_id", "confirmation_sent_at", "requested_at",
              "updated_at", "completed_at")  # fmt: skip
    readonly_fields = fields

    @admin.display(description="Amount", ordering="amount")
    def amount_shown(self, withdrawal: Withdrawal) -> SafeString:
        amount = format_amount(withdrawal.amount, decimals=withdrawal.asset.decimals)
        return format_html('<span class="money">{}</span>', amount)

    @admin.display(description="Address", ordering="address")
    def address_shown(self, withdrawal: Withdrawal) -> SafeString:
        """The start and end of the address (the part people compare), all of it on hover and on its page."""
        address = withdrawal.address
        short = address if len(address) <= 20 else f"{address[:10]}…{address[-6:]}"
        return format_html('<span title="{}">{}</span>', address, short)

    @admin.display(description="Fee", ordering="fee")
    def fee_shown(self, withdrawal: Withdrawal) -> SafeString | str:
        return money(withdrawal.fee, withdrawal.asset)

    @admin.display(description="Value (USDT)", ordering="value_usdt")
    def value(self, withdrawal: Withdrawal) -> SafeString | str:
        """What it was worth when requested: the value its limits and review were decided on."""
        return usdt(withdrawal.value_usdt)

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        if not request.user.has_perm("wallets.review_withdrawal"):
            actions.pop("approve_withdrawals", None)
            actions.pop("reject_withdrawals", None)
        return actions

    def _lines(self, queryset: QuerySet[Withdrawal]) -> list[ConfirmationLine]:
        return [
            ConfirmationLine(
                label=f"#{withdrawal.pk}",
                link=change_link(withdrawal),
                detail=f"{format_amount(withdrawal.amount, decimals=withdrawal.asset.decimals)} "
                f"{withdrawal.asset.code} (≈ {format_usdt(withdrawal.value_usdt)} USDT when requested) by "
                f"{withdrawal.user} to {withdrawal.address}: {withdrawal.review_reason or 'held for review'}",
            )
            for withdrawal in queryset.select_related("user", "asset").order_by("pk")
        ]

    def _review(self, request: HttpRequest, held: QuerySet[Withdrawal], approve: bool, reason: str = "") -> None:
        staff = authenticated_user(request)
        decide_each(
            self,
            request,
            held,
            lambda w: withdrawals.review_withdrawal(staff=staff, withdrawal_id=w.pk, approve=approve, reason=reason),
            noun="withdrawal",
            done="approved" if approve else "rejected and refunded",
        )

    @admin.action(description="Approve selected withdrawals held for review")
    def approve_withdrawals(self, request: HttpRequest, queryset: QuerySet[Withdrawal]) -> HttpResponse | None:
        held = queryset.filter(status=WithdrawalStatus.PENDING_REVIEW)
        if not held.exists():
            self.message_user(request, "None of the selected withdrawals is held for review.", messages.WARNING)
            return None
        if not confirmed(request):
            return confirmation_page(
                self,
                request,
                held,
                question=f"Approve {plural(held.count(), 'withdrawal')}?",
                consequence="Each goes on to the payout from the hot wallet at once. Withdrawals not held for "
                "review are left as they are.",
                lines=self._lines(held),
                button="Yes, approve",
            )
        self._review(request, held, approve=True)
        return None

    @admin.action(description="Reject selected withdrawals held for review (funds returned)")
    def reject_withdrawals(self, request: HttpRequest, queryset: QuerySet[Withdrawal]) -> HttpResponse | None:
        held = queryset.filter(status=WithdrawalStatus.PENDING_REVIEW)
        if not held.exists():
            self.message_user(request, "None of the selected withdrawals is held for review.", messages.WARNING)
            return None
        form = ReasonForm(
            request.POST if confirmed(request) else None,
            initial={"reason": "It did not pass the compliance review."},
        )
        if not (confirmed(request) and form.is_valid()):
            return confirmation_page(
                self,
                request,
                held,
                question=f"Reject {plural(held.count(), 'withdrawal')} and return the funds?",
                consequence="The funds go back to each user's available balance, and they are told why.",
                lines=self._lines(held),
                button="Yes, reject",
                form=form,
            )
        self._review(request, held, approve=False, reason=form.cleaned_data["reason"])
        return None


@admin.register(Deposit)
class DepositAdmin(ReadOnlyAdmin):
    """Deposits; those held because crediting failed are retried or rejected here by treasury."""

    list_display = ("id", "seen_at", "user", "asset", "amount_shown", "confirmations", "status", "hold_reason",
                    "txid", "credited_at")  # fmt: skip
    list_filter = ("status", "asset")
    list_select_related = ("user", "asset")
    search_fields = ("user__username", "txid")
    actions = ["retry_deposits", "reject_deposits"]
    priced_columns = ("amount_shown",)

    @admin.display(description="Amount", ordering="amount")
    def amount_shown(self, deposit: Deposit, prices: UsdtPrices | None = None) -> SafeString | str:
        return money(deposit.amount, deposit.asset, prices)

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        if not request.user.has_perm("wallets.review_deposit"):
            actions.pop("retry_deposits", None)
            actions.pop("reject_deposits", None)
        return actions

    def _lines(self, queryset: QuerySet[Deposit]) -> list[ConfirmationLine]:
        return [
            ConfirmationLine(
                label=f"#{deposit.pk}",
                link=change_link(deposit),
                detail=f"{format_amount(deposit.amount, decimals=deposit.asset.decimals)} {deposit.asset.code} to "
                f"{deposit.user} (transaction {deposit.txid}): {deposit.hold_reason}",
            )
            for deposit in queryset.select_related("user", "asset").order_by("pk")
        ]

    @admin.action(description="Credit selected held deposits again")
    def retry_deposits(self, request: HttpRequest, queryset: QuerySet[Deposit]) -> HttpResponse | None:
        held = queryset.filter(status=DepositStatus.HELD)
        if not held.exists():
            self.message_user(request, "None of the selected deposits is held.", messages.WARNING)
            return None
        if not confirmed(request):
            return confirmation_page(
                self,
                request,
                held,
                question=f"Credit {plural(held.count(), 'deposit')} again?",
                consequence="Each is credited to its user's balance; one that fails again stays held with the new "
                "reason.",
                lines=self._lines(held),
                button="Yes, credit",
            )
        staff = authenticated_user(request)
        decide_each(
            self,
            request,
            held,
            lambda d: services.retry_held_deposit(staff=staff, deposit_id=d.pk),
            noun="deposit",
            done="credited",
        )
        return None

    @admin.action(description="Reject selected held deposits")
    def reject_deposits(self, request: HttpRequest, queryset: QuerySet[Deposit]) -> HttpResponse | None:
        held = queryset.filter(status=DepositStatus.HELD)
        if not held.exists():
            self.message_user(request, "None of the selected deposits is held.", messages.WARNING)
            return None
        form = ReasonForm(
            request.POST if confirmed(request) else None,
            initial={"reason": "It could not be credited and was returned to the sending address."},
        )
        if not (confirmed(request) and form.is_valid()):
            return confirmation_page(
                self,
                request,
                held,
                question=f"Reject {plural(held.count(), 'deposit')}?",
                consequence="They are never credited; each user is told why. Return the funds on the network.",
                lines=self._lines(held),
                button="Yes, reject",
                form=form,
            )
        staff, reason = authenticated_user(request), form.cleaned_data["reason"]
        decide_each(
            self,
            request,
            held,
            lambda d: services.reject_held_deposit(staff=staff, deposit_id=d.pk, reason=reason),
            noun="deposit",
            done="rejected",
        )
        return None


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ("id", "asset", "kind", "user", "balance_shown")
    list_filter = ("asset", "kind")
    list_select_related = ("asset", "user")
    search_fields = ("user__username",)
    fields = ("asset", "kind", "user", "balance_shown")
    readonly_fields = fields
    priced_columns = ("balance_shown",)

    @admin.display(description="Balance", ordering="balance")
    def balance_shown(self, account: LedgerAccount, prices: UsdtPrices | None = None) -> SafeString | str:
        return money(account.balance, account.asset, prices)


class PostingInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Posting
    fields = ("account", "amount_shown")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Posting]:
        return super().get_queryset(request).select_related("account", "asset")

    @admin.display(description="Amount (debit +, credit -)")
    def amount_shown(self, posting: Posting) -> SafeString:
        return format_html('<span class="money">{}</span>', format_amount(posting.amount,
                                                                          decimals=posting.asset.decimals))  # fmt: skip


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "kind", "reference", "memo", "idempotency_key")
    list_filter = ("kind",)
    search_fields = ("reference", "idempotency_key", "memo")
    inlines = [PostingInline]
