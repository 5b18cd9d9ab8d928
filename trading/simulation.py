"""The demo market maker: a moving price and traders who quote around it, through the users' own services.

Two demo accounts take part: `mm-maker` keeps a ladder of limit orders on both sides of a price that
walks randomly, cancelling quotes that drifted too far; `mm-taker` now and then crosses the spread
(market orders and IOC limits), so trades happen. Everything goes through `trading.services`, exactly
as a user's order would: holds, sequence, engine, ledger. Funds are topped up by simulated deposits.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from accounts.models import User
from exchange.core import money
from exchange.core.errors import DomainError
from trading import services
from trading.models import LIVE_STATUSES, Market, MarketStatus, Order, Side
from trading.order_types import OrderRequest
from wallets import ledger
from wallets.models import Asset
from wallets.services import fund_demo_account

logger = logging.getLogger(__name__)

MAKER, TAKER = "mm-maker", "mm-taker"
LADDER_LEVELS = 8
STEP = 0.0008  # distance between quotes, as a fraction of the price
VOLATILITY = 0.0006  # standard deviation of one step of the walk
TOP_UP_IN_USDT = Decimal(2_000_000)


def market_maker_accounts() -> tuple[User, User]:
    """The two demo accounts, verified; created the first time."""
    accounts = []
    for username in (MAKER, TAKER):
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(username=username, email=f"{username}@example.com", password=None)
            User.objects.filter(pk=user.pk).update(kyc_level=1, kyc_status="approved")
            user.refresh_from_db()
        accounts.append(user)
    return accounts[0], accounts[1]


def _value_in_usdt(asset: Asset) -> Decimal:
    return asset.reference_price_usdt or Decimal(1)


def top_up(user: User, asset: Asset) -> None:
    """Deposit more when the account runs low (below a quarter of the top-up)."""
    units = money.MONEY.divide(TOP_UP_IN_USDT, _value_in_usdt(asset))
    target = money.quantize(units, asset.decimals, rounding=ROUND_DOWN)
    available, _ = ledger.user_accounts(user_id=user.pk, asset=asset)
    if available.balance < target / 4:
        fund_demo_account(user_id=user.pk, asset=asset, amount=target)


@dataclass
class Quoting:
    """One market's walk and the maker's quotes on it."""

    market: Market
    price: float
    rng: random.Random
    quotes: list[int] = field(default_factory=list)

    def round_price(self, value: float) -> Decimal:
        tick = self.market.tick_size
        return Decimal(max(tick, (Decimal(repr(value)) / tick).to_integral_value(rounding=ROUND_DOWN) * tick))

    def quantity(self, scale: float = 1.0) -> Decimal:
        lot = self.market.lot_size
        notional = max(self.market.min_notional, Decimal(1)) * Decimal(self.rng.uniform(1.5, 12) * scale)
        lots = max(1, int(notional / Decimal(repr(self.price)) / lot))
        minimum = max(self.market.min_quantity, lot)
        return Decimal(max(minimum, lots * lot))


def _place(user: User, request: OrderRequest) -> Order | None:
    try:
        order, _ = services.place_order(user=user, request=request)
    except DomainError as error:
        logger.debug("market maker: %s refused: %s", request, error.message)
        return None
    return order


class MarketMaker:
    def __init__(self, symbols: list[str] | None = None, seed: int | None = None) -> None:
        self.rng = random.Random(seed)  # noqa: S311  # nosec B311  # a demo price walk, not secrets
        self.maker, self.taker = market_maker_accounts()
        markets = Market.objects.select_related("base", "quote").order_by("symbol")
        if symbols:
            markets = markets.filter(symbol__in=symbols)
        walks = [random.Random(self.rng.random()) for _ in markets]  # noqa: S311  # nosec B311
        self.books = [Quoting(m, self._start_price(m), walk) for m, walk in zip(markets, walks, strict=True)]

    def _start_price(self, market: Market) -> float:
        if market.last_price:
            return float(market.last_price)
        return float(_value_in_usdt(market.base) / _value_in_usdt(market.quote))

    def fund(self) -> None:
        for quoting in self.books:
            for user in (self.maker, self.taker):
                top_up(user, quoting.market.base)
                top_up(user, quoting.market.quote)

    def tick(self) -> int:
        """Move every market once: walk the price, requote, maybe take. Return orders placed."""
        placed = 0
        for quoting in self.books:
            quoting.market.refresh_from_db(fields=["status", "last_price"])
            if quoting.market.status != MarketStatus.OPEN:
                continue
            quoting.price *= math.exp(self.rng.gauss(0, VOLATILITY))
            placed += self._requote(quoting)
            if self.rng.random() < 0.35:
                placed += self._take(quoting)
        return placed

    def _requote(self, quoting: Quoting) -> int:
        live = Order.objects.filter(user=self.maker, market=quoting.market, status__in=LIVE_STATUSES)
        low, high = quoting.price * (1 - STEP * (LADDER_LEVELS + 2)), quoting.price * (1 + STEP * (LADDER_LEVELS + 2))
        bids = asks = 0
        for order in live.only("id", "side", "price", "cancel_seq"):
            if order.cancel_seq is not None:
                continue
            price = float(order.price or 0)
            drifted = not low <= price <= high
            crossed = (order.side == Side.BUY and price >= quoting.price) or (
                order.side == Side.SELL and price <= quoting.price
            )
            if drifted or crossed or self.rng.random() < 0.05:
                with contextlib.suppress(DomainError):  # it finished meanwhile
                    services.cancel_order(user=self.maker, order_id=order.pk)
            elif order.side == Side.BUY:
                bids += 1
            else:
                asks += 1
        placed = 0
        for side, count, sign in ((Side.BUY, bids, -1), (Side.SELL, asks, 1)):
            for _ in range(max(0, LADDER_LEVELS - count)):
                level = self.rng.randint(1, LADDER_LEVELS)
                quote_price = quoting.round_price(quoting.price * (1 + sign * STEP * level))
                request = OrderRequest(
                    quoting.market.symbol, side, "limit", price=quote_price, quantity=quoting.quantity(), post_only=True
                )
                placed += _place(self.maker, request) is not None
        return placed

    def _take(self, quoting: Quoting) -> int:
        side = self.rng.choice([Side.BUY, Side.SELL])
        if self.rng.random() < 0.5:
            request = OrderRequest(quoting.market.symbol, side, "market", quantity=quoting.quantity(0.6))
        else:
            sign = 1 if side == Side.BUY else -1
            price = quoting.round_price(quoting.price * (1 + sign * STEP * 2))
            request = OrderRequest(
                quoting.market.symbol, side, "limit", price=price, quantity=quoting.quantity(0.6), time_in_force="IOC"
            )
        return int(_place(self.taker, request) is not None)
