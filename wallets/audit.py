"""The ledger's invariants (ARCHITECTURE.md, "The ledger"), checked against the database.

1. per asset, all postings sum to zero (and so does every single entry);
2. every cached balance equals the sum of its postings; none is negative;
3. each user's locked amount equals the holds of their open orders plus their open withdrawals;
4. per asset, hot + cold + in transit = user liabilities (available + locked) + fee revenue;
5. no order is filled beyond its quantity; every trade has exactly one maker and one taker order.

Other apps contribute to 3 and 5 by appending to LOCK_CLAIMS and EXTRA_CHECKS (trading does).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from django.db import connection
from django.db.models import Sum

from exchange.core.money import MONEY, trimmed
from wallets.models import (
    CUSTODY_KINDS,
    HOLDING_WITHDRAWAL_STATUSES,
    ZERO,
    AccountKind,
    Asset,
    LedgerAccount,
    Withdrawal,
)


@dataclass
class AssetReport:
    code: str
    available: Decimal = ZERO
    locked: Decimal = ZERO
    fee_revenue: Decimal = ZERO
    hot: Decimal = ZERO
    cold: Decimal = ZERO
    in_transit: Decimal = ZERO

    @property
    def liabilities(self) -> Decimal:
        with localcontext(MONEY):
            return self.available + self.locked + self.fee_revenue

    @property
    def custody(self) -> Decimal:
        with localcontext(MONEY):
            return self.hot + self.cold + self.in_transit


@dataclass
class AuditResult:
    assets: list[AssetReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def withdrawal_claims() -> dict[tuple[int, int], Decimal]:
    """What open withdrawals hold: (user id, asset id) -> amount."""
    rows = (
        Withdrawal.objects.filter(status__in=HOLDING_WITHDRAWAL_STATUSES)
        .values("user_id", "asset_id")
        .annotate(total=Sum("amount"))
    )
    return {(row["user_id"], row["asset_id"]): row["total"] for row in rows}


LOCK_CLAIMS: list[Callable[[], dict[tuple[int, int], Decimal]]] = [withdrawal_claims]
EXTRA_CHECKS: list[Callable[[], list[str]]] = []


def _fmt(value: Decimal) -> str:
    return trimmed(value) if value else "0"


def run_audit() -> AuditResult:
    with localcontext(MONEY):  # sums of NUMERIC(36,18) amounts need more than the default 28 digits
        return _audit()


def _audit() -> AuditResult:
    result = AuditResult()
    assets = {a.pk: a for a in Asset.objects.all()}
    with connection.cursor() as cursor:
        # 1. Postings sum to zero per asset, and per entry.
        cursor.execute("SELECT asset_id, SUM(amount) FROM wallets_posting GROUP BY asset_id HAVING SUM(amount) <> 0")
        for asset_id, total in cursor.fetchall():
            result.problems.append(f"[1] {assets[asset_id].code}: postings sum to {_fmt(total)}, not 0")
        cursor.execute(
            "SELECT entry_id, asset_id, SUM(amount) FROM wallets_posting GROUP BY entry_id, asset_id "
            "HAVING SUM(amount) <> 0 ORDER BY entry_id LIMIT 20"
        )
        for entry_id, asset_id, total in cursor.fetchall():
            result.problems.append(f"[1] entry #{entry_id} ({assets[asset_id].code}) sums to {_fmt(total)}")
        result.checked.append("1. postings sum to zero per asset and per entry")

        # 2. Cached balances equal their postings (on the account's normal side); none negative.
        custody = [str(k) for k in CUSTODY_KINDS]
        cursor.execute(
            """
            SELECT a.id, a.kind, a.user_id, a.asset_id, a.balance,
                   COALESCE(SUM(CASE WHEN a.kind = ANY(%s) THEN p.amount ELSE -p.amount END), 0) AS expected
              FROM wallets_ledgeraccount a LEFT JOIN wallets_posting p ON p.account_id = a.id
             GROUP BY a.id
            HAVING a.balance <> COALESCE(SUM(CASE WHEN a.kind = ANY(%s) THEN p.amount ELSE -p.amount END), 0)
                OR a.balance < 0
            """,
            [custody, custody],
        )
        for account_id, kind, user_id, asset_id, balance, expected in cursor.fetchall():
            owner = f" of user {user_id}" if user_id else ""
            result.problems.append(
                f"[2] account #{account_id} {assets[asset_id].code} {kind}{owner}: balance {_fmt(balance)}, "
                f"postings say {_fmt(expected)}"
            )
        result.checked.append("2. cached balances equal their postings, none negative")

    # 3. Locked funds are exactly what open orders and withdrawals hold.
    claims: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for provider in LOCK_CLAIMS:
        for key, amount in provider().items():
            claims[key] += amount
    locked: dict[tuple[int, int], Decimal] = {
        (acc.user_id or 0, acc.asset_id): acc.balance
        for acc in LedgerAccount.objects.filter(kind=AccountKind.USER_LOCKED).exclude(balance=0)
    }
    for key in sorted(set(claims) | set(locked)):
        have, owed = locked.get(key, ZERO), claims.get(key, ZERO)
        if have != owed:
            user_id, asset_id = key
            result.problems.append(
                f"[3] user {user_id} {assets[asset_id].code}: locked {_fmt(have)}, open orders and withdrawals "
                f"hold {_fmt(owed)}"
            )
    result.checked.append("3. locked funds equal open orders' and withdrawals' holds")

    # 4. Custody equals obligations, per asset.
    reports = {pk: AssetReport(code=asset.code) for pk, asset in sorted(assets.items(), key=lambda i: i[1].code)}
    attribute = {
        AccountKind.USER_AVAILABLE: "available",
        AccountKind.USER_LOCKED: "locked",
        AccountKind.FEE_REVENUE: "fee_revenue",
        AccountKind.HOT_WALLET: "hot",
        AccountKind.COLD_WALLET: "cold",
        AccountKind.IN_TRANSIT: "in_transit",
    }
    for row in LedgerAccount.objects.values("asset_id", "kind").annotate(total=Sum("balance")):
        report = reports[row["asset_id"]]
        name = attribute[AccountKind(row["kind"])]
        setattr(report, name, getattr(report, name) + row["total"])
    for report in reports.values():
        if report.custody != report.liabilities:
            result.problems.append(
                f"[4] {report.code}: hot + cold + in transit = {_fmt(report.custody)}, "
                f"but users + fee revenue = {_fmt(report.liabilities)}"
            )
    result.assets = list(reports.values())
    result.checked.append("4. hot + cold + in transit = user liabilities + fee revenue")

    # 5. Orders and trades (contributed by trading).
    for check in EXTRA_CHECKS:
        result.problems.extend(check())
    result.checked.append(
        "5. orders filled within quantity, one maker and one taker per trade"
        + ("" if EXTRA_CHECKS else " (no trading yet)")
    )
    return result
