"""Assets, the double-entry ledger, deposits and withdrawals.

The chart of accounts has two sides. Custody (what the exchange holds): the hot wallet, the cold
wallet, and funds in transit between them — debit-normal. Obligations (what it owes): each user's
available and locked funds, and the exchange's own fee revenue — credit-normal. A posting's amount is
signed (debit positive, credit negative), every journal entry sums to zero per asset (the database
checks it at commit), and so custody always equals obligations. A deposit is custody in (Dr hot) and
an obligation to the user (Cr available); a payout is the reverse. The outside world needs no account
of its own: it is on the other side of every custody movement.

`LedgerAccount.balance` is the cached sum of the account's postings on its normal side, updated in
the same transaction as the postings, and never negative (a CHECK constraint).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper

from exchange.core.money import EXACT

# Every amount column: 36 digits, 18 after the point (enough for any chain's smallest unit).
AMOUNT_DIGITS, AMOUNT_PLACES = 36, 18
ZERO = Decimal("0")


def money(**options: Any) -> models.DecimalField:  # type: ignore[type-arg]
    """Return an amount column: NUMERIC(36, 18)."""
    return models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, **options)


class Asset(models.Model):
    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=64)
    decimals = models.PositiveSmallIntegerField(help_text="Precision of amounts of this asset (at most 18).")
    deposit_enabled = models.BooleanField(default=True)
    withdraw_enabled = models.BooleanField(default=True)
    withdrawal_fee = money(default=ZERO)
    min_withdrawal = money(default=ZERO)
    confirmations_required = models.PositiveSmallIntegerField(default=1)
    # Value of one unit in USDT, for daily limits across assets (market prices replace it later).
    reference_price_usdt = money(default=ZERO)
    # The hot wallet is kept between floor and ceiling: absolute amounts, or fractions of what
    # users hold in this asset when `hot_limits_relative` is on.
    hot_limits_relative = models.BooleanField(default=True)
    hot_floor = money(default=Decimal("0.05"))
    hot_ceiling = money(default=Decimal("0.20"))

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(decimals__lte=18), name="wallets_asset_decimals_max_18"),
            models.CheckConstraint(condition=Q(withdrawal_fee__gte=0), name="wallets_asset_fee_nonnegative"),
            models.CheckConstraint(condition=Q(min_withdrawal__gte=0), name="wallets_asset_min_nonnegative"),
            models.CheckConstraint(condition=Q(hot_floor__lte=F("hot_ceiling")), name="wallets_asset_floor_le_ceiling"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.decimals)


class AccountKind(models.TextChoices):
    USER_AVAILABLE = "user_available", "User available"
    USER_LOCKED = "user_locked", "User locked"
    FEE_REVENUE = "fee_revenue", "Fee revenue"
    HOT_WALLET = "hot_wallet", "Hot wallet"
    COLD_WALLET = "cold_wallet", "Cold wallet"
    IN_TRANSIT = "in_transit", "In transit"


USER_KINDS = frozenset({AccountKind.USER_AVAILABLE, AccountKind.USER_LOCKED})
# Custody accounts are debit-normal; everything else (what is owed) is credit-normal.
CUSTODY_KINDS = frozenset({AccountKind.HOT_WALLET, AccountKind.COLD_WALLET, AccountKind.IN_TRANSIT})


class LedgerAccount(models.Model):
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="accounts")
    kind = models.CharField(max_length=16, choices=AccountKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_accounts"
    )
    balance = money(default=ZERO)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "kind", "user"], name="wallets_account_unique", nulls_distinct=False
            ),
            models.CheckConstraint(condition=Q(balance__gte=0), name="wallets_account_balance_nonnegative"),
            models.CheckConstraint(
                condition=Q(kind__in=sorted(USER_KINDS), user__isnull=False)
                | (~Q(kind__in=sorted(USER_KINDS)) & Q(user__isnull=True)),
                name="wallets_account_user_iff_user_kind",
            ),
        ]

    def __str__(self) -> str:
        owner = f" of {self.user_id}" if self.user_id else ""
        return f"{self.asset_id}:{self.kind}{owner}"

    @property
    def is_custody(self) -> bool:
        return self.kind in CUSTODY_KINDS


class EntryKind(models.TextChoices):
    DEPOSIT = "deposit", "Deposit"
    HOLD = "hold", "Hold"
    RELEASE = "release", "Release"
    TRANSFER = "transfer", "Transfer"
    WITHDRAWAL = "withdrawal", "Withdrawal"
    TRADE = "trade", "Trade"
    SWEEP = "sweep", "Hot to cold"
    REFILL = "refill", "Cold to hot"
    ARRIVAL = "arrival", "Arrived from transit"


class JournalEntry(models.Model):
    """One balanced movement of money. Append-only: the database refuses updates and deletes."""

    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    # A retried operation carries the same key and is refused by this unique column.
    idempotency_key = models.CharField(max_length=128, unique=True)
    reference = models.CharField(max_length=64, blank=True)
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "journal entries"

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.reference}"


class Posting(models.Model):
    """One leg of an entry: a signed amount (debit positive) on one account."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="postings")
    # The account's asset, repeated so the database can check each entry's sum per asset cheaply.
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    amount = money()

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="wallets_posting_nonzero")]
        indexes = [models.Index(fields=["account", "entry"])]

    def __str__(self) -> str:
        return f"{self.account} {self.amount:+}"


class DepositAddress(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deposit_addresses")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    address = models.CharField(max_length=128, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "asset"], name="wallets_one_address_per_asset")]
        # "Is this one of our deposit addresses?" asks in any letter case (services.deposit_address_owner).
        indexes = [models.Index(Upper("address"), name="wallets_deposit_address_ci")]

    def __str__(self) -> str:
        return self.address


class DepositStatus(models.TextChoices):
    CONFIRMING = "confirming", "Confirming"
    CREDITED = "credited", "Credited"
    HELD = "held", "Held for review"  # crediting failed: treasury retries or rejects it, nothing retries blindly
    REJECTED = "rejected", "Rejected"


class Deposit(models.Model):
    """An incoming transfer seen on a network; credited once it has enough confirmations."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deposits")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    address = models.ForeignKey(DepositAddress, on_delete=models.PROTECT, related_name="deposits")
    amount = money()
    txid = models.CharField(max_length=128)
    vout = models.PositiveIntegerField(default=0)
    confirmations = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=DepositStatus.choices, default=DepositStatus.CONFIRMING)
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    seen_at = models.DateTimeField(auto_now_add=True)
    credited_at = models.DateTimeField(null=True, blank=True)
    # Why crediting failed (held: for treasury), or why treasury rejected it (the user reads that).
    hold_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["asset", "txid", "vout"], name="wallets_deposit_unique_output"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="wallets_deposit_positive"),
            models.CheckConstraint(
                condition=Q(status="credited", entry__isnull=False)
                | Q(status__in=["confirming", "held", "rejected"], entry__isnull=True),
                name="wallets_deposit_credited_iff_entry",
            ),
        ]
        indexes = [models.Index(fields=["status", "asset"])]
        permissions = [("review_deposit", "Can retry or reject deposits held because crediting failed")]

    def __str__(self) -> str:
        return f"{self.amount} {self.asset_id} → {self.user_id} ({self.status})"


class WithdrawalStatus(models.TextChoices):
    AWAITING_CONFIRMATION = "awaiting_confirmation", "Awaiting email confirmation"
    PENDING_REVIEW = "pending_review", "Pending review"
    APPROVED = "approved", "Approved"
    WAITING_HOT_WALLET = "waiting_hot_wallet", "Waiting for hot wallet funds"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


# The statuses in which the user's funds are still held (locked). Processing has paid them out of
# the hot wallet already; completed, rejected, cancelled and failed are final.
HOLDING_WITHDRAWAL_STATUSES = frozenset(
    {
        WithdrawalStatus.AWAITING_CONFIRMATION,
        WithdrawalStatus.PENDING_REVIEW,
        WithdrawalStatus.APPROVED,
        WithdrawalStatus.WAITING_HOT_WALLET,
    }
)
FINAL_WITHDRAWAL_STATUSES = frozenset(
    {WithdrawalStatus.COMPLETED, WithdrawalStatus.REJECTED, WithdrawalStatus.CANCELLED, WithdrawalStatus.FAILED}
)


class Withdrawal(models.Model):
    """A request to send funds out; `amount` leaves the balance, `amount - fee` reaches the address."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="withdrawals")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    amount = money()
    fee = money()
    address = models.CharField(max_length=128)
    # Chosen by the client (an API caller's key, a hidden field of the page's form): the same one
    # twice is a double submit, refused.
    client_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=24, choices=WithdrawalStatus.choices)
    value_usdt = money(default=ZERO)
    # SHA-256 of the secret sent in the confirmation email link.
    confirmation_token_hash = models.CharField(max_length=64, blank=True)
    # When the worker handed the latest confirmation email to the mail server (None: not yet).
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    txid = models.CharField(max_length=128, blank=True)
    review_reason = models.CharField(max_length=300, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    failure_reason = models.CharField(max_length=300, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="wallets_withdrawal_positive"),
            models.CheckConstraint(condition=Q(fee__gte=0) & Q(fee__lt=F("amount")), name="wallets_withdrawal_fee"),
            models.UniqueConstraint(
                fields=["user", "client_id"], condition=~Q(client_id=""), name="wallets_withdrawal_client_id_once"
            ),
        ]
        indexes = [models.Index(fields=["user", "status"]), models.Index(fields=["status", "asset"])]
        permissions = [("review_withdrawal", "Can approve or reject withdrawals held for review")]

    def __str__(self) -> str:
        return f"Withdrawal #{self.pk}: {self.amount.normalize():f} {self.asset.code} ({self.status})"

    @property
    def net_amount(self) -> Decimal:
        """What the address receives: the amount less the fee, exactly (a stored amount has up to 36 digits)."""
        return EXACT.subtract(self.amount, self.fee)

    @property
    def holds_funds(self) -> bool:
        return self.status in HOLDING_WITHDRAWAL_STATUSES


class WithdrawalAddress(models.Model):
    """An entry of a user's address book. In whitelist mode only these are allowed, 24 h after adding."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="withdrawal_addresses")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    address = models.CharField(max_length=128)
    label = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["asset", "label"]
        constraints = [models.UniqueConstraint(fields=["user", "asset", "address"], name="wallets_address_book_unique")]

    def __str__(self) -> str:
        return f"{self.label or self.address} ({self.asset_id})"


class WalletSettings(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wallet_settings")
    whitelist_only = models.BooleanField(default=False)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "wallet settings"

    def __str__(self) -> str:
        return f"wallet settings of {self.user_id}"


class ColdWalletTransferDirection(models.TextChoices):
    TO_COLD = "to_cold", "Hot to cold"
    TO_HOT = "to_hot", "Cold to hot"


class ColdWalletTransferStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    IN_TRANSIT = "in_transit", "In transit"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class ColdWallet(models.Model):
    asset = models.OneToOneField(Asset, on_delete=models.PROTECT, related_name="cold_wallet")
    address = models.CharField(max_length=128)
    label = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"cold {self.asset_id}: {self.address}"


class ColdWalletTransfer(models.Model):
    """A movement between the hot and the cold wallet: who asked, who approved, the txid."""

    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=8, choices=ColdWalletTransferDirection.choices)
    amount = money()
    status = models.CharField(max_length=16, choices=ColdWalletTransferStatus.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    executed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    automatic = models.BooleanField(default=False)
    txid = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the funds left the source wallet: refills count towards the 24 h second-approval threshold from then.
    executed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="wallets_cold_transfer_positive")]

    def __str__(self) -> str:
        return f"{self.get_direction_display()}: {self.amount.normalize():f} {self.asset.code} ({self.status})"


class ColdWalletAddressChangeStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a second approval"
    APPLIED = "applied", "Applied"
    REJECTED = "rejected", "Rejected"


class ColdWalletAddressChange(models.Model):
    """A new address for an asset's cold wallet: asked for by one staff member, applied once another approves.

    Whoever could set the address alone could send every sweep to themselves (wallets.treasury).
    """

    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    old_address = models.CharField(max_length=128, blank=True)  # empty: the asset had no cold wallet yet
    new_address = models.CharField(max_length=128)
    status = models.CharField(
        max_length=16, choices=ColdWalletAddressChangeStatus.choices, default=ColdWalletAddressChangeStatus.PENDING
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["asset"], condition=Q(status="pending"), name="wallets_one_pending_cold_address_change"
            ),
            # Applied by someone else than who asked (rejecting one's own request is withdrawing it).
            models.CheckConstraint(
                condition=~Q(status="applied") | ~Q(decided_by=F("requested_by")),
                name="wallets_cold_address_change_two_people",
            ),
        ]

    def __str__(self) -> str:
        return f"cold {self.asset_id}: {self.old_address or '(none)'} → {self.new_address} ({self.status})"


class SimulatedChain(models.Model):
    """The simulated network's chain of one asset: its block height (for development and tests)."""

    asset = models.OneToOneField(Asset, on_delete=models.CASCADE, related_name="+")
    height = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"simulated {self.asset_id} chain at {self.height}"


class SimulatedTransfer(models.Model):
    """A transfer on the simulated network: to one of our deposit addresses, or a payout of ours."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="+")
    txid = models.CharField(max_length=128)
    vout = models.PositiveIntegerField(default=0)
    to_address = models.CharField(max_length=128, db_index=True)
    amount = money()
    block_height = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["asset", "txid", "vout"], name="wallets_simtx_unique")]

    def __str__(self) -> str:
        return f"{self.txid}:{self.vout}"
