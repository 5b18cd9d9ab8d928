"""The admin's first page: what needs someone now, per role (selectors only: nothing here writes).

Compliance: the KYC queue oldest first, withdrawals held for review, open AML flags. Treasury: hot
wallets outside their band, withdrawals stuck in one state for too long, the last ledger audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from kyc.models import AmlFlag, FlagSeverity, FlagStatus, Verification, VerificationStatus
from wallets import treasury
from wallets.audit_runs import AuditRun, last_audit
from wallets.models import Asset, ColdWalletTransfer, Withdrawal, WithdrawalStatus

ROWS = 10  # per panel; the panel links to the whole list
# How long a withdrawal may sit in one state before someone should look. The worker pays approved
# ones within seconds and retries those waiting for the hot wallet every minute; a broadcast payout
# confirms within minutes on any network we list; a confirmation email not followed for an hour
# usually means it never arrived.
STUCK_AFTER = {
    WithdrawalStatus.AWAITING_CONFIRMATION: timedelta(hours=1),
    WithdrawalStatus.APPROVED: timedelta(minutes=10),
    WithdrawalStatus.WAITING_HOT_WALLET: timedelta(minutes=30),
    WithdrawalStatus.PROCESSING: timedelta(hours=1),
}


@dataclass(frozen=True)
class Panel:
    rows: list[Any]
    total: int
    link: str


@dataclass(frozen=True)
class HotWallet:
    asset: Asset
    position: treasury.WalletPosition
    above: bool  # above the ceiling (else below the floor)
    open_transfer: ColdWalletTransfer | None

    @property
    def limit(self) -> Decimal:
        return self.position.ceiling if self.above else self.position.floor


@dataclass(frozen=True)
class StuckWithdrawal:
    withdrawal: Withdrawal
    since: datetime
    why: str


@dataclass(frozen=True)
class LedgerAudit:
    run: AuditRun | None


@dataclass(frozen=True)
class Dashboard:
    """Each panel is None when the staff member's role does not work with it."""

    pending_kyc: Panel | None
    held_withdrawals: Panel | None
    open_flags: Panel | None
    hot_wallets: Panel | None
    stuck_withdrawals: Panel | None
    ledger_audit: LedgerAudit | None


def _panel(queryset: QuerySet[Any], link: str) -> Panel:
    rows = list(queryset[:ROWS])
    total = len(rows) if len(rows) < ROWS else queryset.count()
    return Panel(rows=rows, total=total, link=link)


def pending_verifications() -> Panel:
    """Return the KYC queue, the longest waiting first."""
    queryset = (
        Verification.objects.filter(status=VerificationStatus.PENDING)
        .select_related("user")
        .order_by("submitted_at", "pk")
    )
    return _panel(queryset, reverse("admin:kyc_verification_changelist") + "?status__exact=pending")


def held_withdrawals() -> Panel:
    """Return the withdrawals held for compliance review, the longest waiting first."""
    queryset = (
        Withdrawal.objects.filter(status=WithdrawalStatus.PENDING_REVIEW)
        .select_related("user", "asset")
        .order_by("updated_at", "pk")
    )
    return _panel(queryset, reverse("admin:wallets_withdrawal_changelist") + "?status__exact=pending_review")


def open_aml_flags() -> Panel:
    """Return the open AML flags, the most severe first, then the oldest."""
    severity = Case(
        When(severity=FlagSeverity.HIGH, then=Value(0)),
        When(severity=FlagSeverity.MEDIUM, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    queryset = (
        AmlFlag.objects.filter(status=FlagStatus.OPEN).select_related("user").order_by(severity, "created_at", "pk")
    )
    return _panel(queryset, reverse("admin:kyc_amlflag_changelist") + "?status__exact=open")


def hot_wallets_outside_their_band() -> Panel:
    """Return the assets whose hot wallet is below its floor or above its ceiling, with any open transfer."""
    open_transfers: dict[int, ColdWalletTransfer] = {}
    for transfer in ColdWalletTransfer.objects.filter(status__in=treasury.OPEN_TRANSFER).order_by("-pk"):
        open_transfers[transfer.asset_id] = transfer  # the oldest open one wins
    rows = []
    for asset in Asset.objects.order_by("code"):
        where = treasury.position(asset=asset)
        if where.floor <= where.hot <= where.ceiling:
            continue
        rows.append(HotWallet(asset, where, where.hot > where.ceiling, open_transfers.get(asset.pk)))
    return Panel(rows=rows, total=len(rows), link=reverse("admin:wallets_asset_changelist"))


def stuck_withdrawals(*, now: datetime | None = None) -> Panel:
    """Return the withdrawals that sat in one state longer than STUCK_AFTER allows, the longest first."""
    now = now or timezone.now()
    stuck = Q()
    for status, limit in STUCK_AFTER.items():
        stuck |= Q(status=status, updated_at__lt=now - limit)
    queryset = Withdrawal.objects.filter(stuck).select_related("user", "asset").order_by("updated_at", "pk")
    panel = _panel(queryset, reverse("admin:wallets_withdrawal_changelist"))
    rows = []
    for withdrawal in panel.rows:
        why = withdrawal.get_status_display()
        if withdrawal.status == WithdrawalStatus.AWAITING_CONFIRMATION and withdrawal.confirmation_sent_at is None:
            why += " (the email was never sent)"
        elif withdrawal.status == WithdrawalStatus.PROCESSING and withdrawal.txid:
            why += f" (broadcast as {withdrawal.txid[:16]}…)"
        rows.append(StuckWithdrawal(withdrawal, withdrawal.updated_at, why))
    return Panel(rows=rows, total=panel.total, link=panel.link)


def dashboard_for(*, user: User, sections: set[str]) -> Dashboard:
    """Return the panels of the sections the staff member works in that their permissions let them see."""
    compliance, treasury_work = "compliance" in sections, "treasury" in sections

    def shows(section: bool, permission: str) -> bool:
        return section and user.has_perm(permission)

    return Dashboard(
        pending_kyc=pending_verifications() if shows(compliance, "kyc.view_verification") else None,
        held_withdrawals=held_withdrawals() if shows(compliance, "wallets.review_withdrawal") else None,
        open_flags=open_aml_flags() if shows(compliance, "kyc.view_amlflag") else None,
        hot_wallets=hot_wallets_outside_their_band() if shows(treasury_work, "wallets.view_asset") else None,
        stuck_withdrawals=stuck_withdrawals() if shows(treasury_work, "wallets.view_withdrawal") else None,
        ledger_audit=LedgerAudit(last_audit()) if can_run_ledger_audit(user, sections) else None,
    )


def can_run_ledger_audit(user: User, sections: set[str]) -> bool:
    """The audit reads the whole ledger: treasury's, and the superuser's, to see and to run."""
    return "treasury" in sections and user.has_perm("wallets.view_ledgeraccount")
