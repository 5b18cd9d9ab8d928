"""Markets, funded verified traders and an engine run in the test's own process."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import issue_tokens
from accounts.tests.factories import UserFactory
from exchange.core import streams
from trading.markets import ensure_markets
from trading.matching import MarketEngine
from trading.models import Market
from wallets import ledger
from wallets.assets import ensure_assets
from wallets.models import Asset
from wallets.tests.factories import fund


def markets() -> dict[str, Market]:
    ensure_assets()
    return {market.symbol: market for market in ensure_markets()}


def trader(username: str, **funds: str) -> User:
    """A verified (level 1) user with the given deposits, e.g. trader("alice", USDT="1000", BTC="1")."""
    user = UserFactory(username=username, kyc_level=1, kyc_status="approved")
    for code, amount in funds.items():
        fund(user.pk, Asset.objects.get(code=code), amount)
    return user


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user=user).access}")
    return client


def balance(user: User, code: str) -> tuple[Decimal, Decimal]:
    """(available, locked) of one asset."""
    available, locked = ledger.user_accounts(user_id=user.pk, asset=Asset.objects.get(code=code))
    return available.balance, locked.balance


def fee_revenue(code: str) -> Decimal:
    return ledger.account(asset=Asset.objects.get(code=code), kind="fee_revenue").balance


def engine_for(symbol: str) -> MarketEngine:
    """Take the market over the way a worker does (bump the epoch) and return its engine."""
    market = Market.objects.get(symbol=symbol)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE trading_market SET engine_epoch = engine_epoch + 1 WHERE id = %s RETURNING engine_epoch",
            [market.pk],
        )
        epoch = cursor.fetchone()[0]
    return MarketEngine(market.pk, epoch)


def drain(engine: MarketEngine, batch: int = 1000) -> int:
    """Run batches until nothing is pending, and their events are published; return how many commands ran."""
    total = 0
    while count := engine.run_batch(batch):
        total += count
    streams.background.flush()
    return total
