"""python manage.py bootstrap [--demo]: load the data a fresh exchange needs, idempotently.

Every run: the staff role groups, the level limits, the assets BTC, ETH and USDT with their cold
wallets, the markets BTC-USDT and ETH-USDT (FIFO) and ETH-BTC (pro-rata). Demo data (users, their
first deposits, a demo sanctions list) only in development (DEBUG) or with --demo; existing users,
assets and markets are never changed.

It lives in the project, above the apps, because it seeds every one of them.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.models import User
from accounts.roles import setup_roles
from kyc.aml import load_sanctions_csv
from kyc.limits import ensure_default_limits
from trading.markets import ensure_markets
from wallets.assets import ensure_assets
from wallets.models import Asset
from wallets.services import fund_demo_account

DEMO_DEPOSITS = {"BTC": "2", "ETH": "30", "USDT": "100000"}

DEMO_SANCTIONS = Path(__file__).resolve().parents[3] / "kyc" / "data" / "demo_sanctions.csv"

DEMO_USERS = (
    # username, password, role: "superuser", a staff group name, or "" for a trader
    ("admin", "admin-demo-pass", "superuser"),
    ("compliance", "compliance-demo-pass", "Compliance"),
    ("alice", "alice-demo-pass", ""),
    ("bob", "bob-demo-pass", ""),
)


class Command(BaseCommand):
    help = "Load the exchange's seed data, and demo users in development. Safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--demo", action="store_true", help="Create demo users even when DEBUG is off.")

    def handle(self, *args: Any, **options: Any) -> None:
        for name, count in setup_roles().items():
            self.stdout.write(f"role {name}: {count} permissions")
        ensure_default_limits()
        for asset in ensure_assets():
            self.stdout.write(f"asset {asset.code}: ready")
        for market in ensure_markets():
            self.stdout.write(f"market {market.symbol}: {market.get_algorithm_display()}, {market.status}")
        if settings.DEBUG or options["demo"]:
            self.create_demo_users()
            count = load_sanctions_csv(path=DEMO_SANCTIONS, source="DEMO")
            self.stdout.write(f"sanctions list DEMO: {count} fictitious entries")
            self.fund_demo_traders()

    def fund_demo_traders(self) -> None:
        """Give the demo traders verified accounts and a first deposit of each asset (once)."""
        for username in ("alice", "bob"):
            user = User.objects.get(username=username)
            if user.deposits.exists():
                continue
            User.objects.filter(pk=user.pk).update(kyc_level=1, kyc_status="approved")
            for code, amount in DEMO_DEPOSITS.items():
                asset = Asset.objects.get(code=code)
                fund_demo_account(user_id=user.pk, asset=asset, amount=Decimal(amount))
            self.stdout.write(
                f"user {username}: verified, funded with "
                + ", ".join(f"{amount} {code}" for code, amount in DEMO_DEPOSITS.items())
            )

    @transaction.atomic
    def create_demo_users(self) -> None:
        for username, password, role in DEMO_USERS:
            if User.objects.filter(username__iexact=username).exists():
                self.stdout.write(f"user {username}: exists, left as it is")
                continue
            email = f"{username}@example.com"
            if role == "superuser":
                User.objects.create_superuser(username=username, email=email, password=password)
            else:
                user = User.objects.create_user(username=username, email=email, password=password, is_staff=bool(role))
                if role:
                    user.groups.add(Group.objects.get(name=role))
            self.stdout.write(self.style.SUCCESS(f"user {username}: created (password {password})"))
