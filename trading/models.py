"""Markets, orders and trades.

An order's `seq` comes from one database sequence shared with cancel requests (`cancel_seq`): the
engine carries out a market's commands in that order, so a cancel can never race a fill. The API
writes orders as `pending` and holds their funds; only the engine moves an order on from there.
`hold_remaining` is what the order still has locked (in the quote asset for buys, the base asset for
sells); the ledger audit checks that users' locked balances equal these plus pending withdrawals.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from wallets.models import ZERO, Asset, JournalEntry, money

COMMAND_SEQUENCE = "trading_command_seq"
FEE_RATE_MAX = Decimal("0.1")


class MatchingAlgorithm(models.TextChoices):
    FIFO = "fifo", "FIFO (price-time)"
    PRO_RATA = "pro_rata", "Pro-rata"


class MarketStatus(models.TextChoices):
    OPEN = "open", "Open"
    HALTED = "halted", "Halted"
    CANCEL_ONLY = "cancel_only", "Cancel only"


def fee_rate(**options: object) -> models.DecimalField:  # type: ignore[type-arg]
    return models.DecimalField(max_digits=8, decimal_places=6, **options)  # type: ignore[arg-type]


class Market(models.Model):
    symbol = models.CharField(max_length=33, unique=True, editable=False)
    base = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    quote = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    tick_size = money(help_text="Prices are whole multiples of this (in the quote asset).")
    lot_size = money(help_text="Quantities are whole multiples of this (in the base asset).")
    min_quantity = money(default=ZERO)
    min_notional = money(default=ZERO, help_text="Smallest price x quantity of a limit order (quote asset).")
    maker_fee_rate = fee_rate(default=Decimal("0.001"))
    taker_fee_rate = fee_rate(default=Decimal("0.002"))
    algorithm = models.CharField(max_length=8, choices=MatchingAlgorithm.choices, default=MatchingAlgorithm.FIFO)
    status = models.CharField(max_length=12, choices=MarketStatus.choices, default=MarketStatus.OPEN)
    # Market buys sized by quantity hold (best ask walk) x (1 + this) and never pay more.
    market_buy_protection = fee_rate(default=Decimal("0.05"))
    # The engine's position, written in its batch transactions. `engine_epoch` is a fencing token:
    # an engine taking the market over bumps it, and a batch from an older owner finds it changed.
    engine_epoch = models.BigIntegerField(default=0, editable=False)
    book_seq = models.BigIntegerField(default=0, editable=False)
    last_price = money(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.UniqueConstraint(fields=["base", "quote"], name="trading_market_pair_unique"),
            models.CheckConstraint(condition=~Q(base=F("quote")), name="trading_market_two_assets"),
            models.CheckConstraint(condition=Q(tick_size__gt=0, lot_size__gt=0), name="trading_market_steps_positive"),
            models.CheckConstraint(
                condition=Q(min_quantity__gte=0, min_notional__gte=0), name="trading_market_minimums_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(maker_fee_rate__gte=0, maker_fee_rate__lte=FEE_RATE_MAX)
                & Q(taker_fee_rate__gte=0, taker_fee_rate__lte=FEE_RATE_MAX),
                name="trading_market_fee_rates_range",
            ),
        ]

    def __str__(self) -> str:
        return self.symbol

    def save(self, *args: object, **kwargs: object) -> None:
        self.symbol = f"{self.base.code}-{self.quote.code}"
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.base_id and self.quote_id:
            if self.tick_size and self.tick_size % self.quote.quantum:
                errors["tick_size"] = f"Must be a multiple of {self.quote.quantum} ({self.quote.code} precision)."
            if self.lot_size and self.lot_size % self.base.quantum:
                errors["lot_size"] = f"Must be a multiple of {self.base.quantum} ({self.base.code} precision)."
            if self.tick_size and self.lot_size and (self.tick_size * self.lot_size) % self.quote.quantum:
                errors["lot_size"] = (
                    f"Tick size x lot size must be a multiple of {self.quote.quantum}, "
                    "so every notional is a whole amount of the quote asset."
                )
        if self.min_quantity and self.lot_size and self.min_quantity % self.lot_size:
            errors["min_quantity"] = "Must be a multiple of the lot size."
        if errors:
            raise ValidationError(errors)

    @property
    def accepts_orders(self) -> bool:
        return self.status == MarketStatus.OPEN

    @property
    def accepts_cancels(self) -> bool:
        return self.status in (MarketStatus.OPEN, MarketStatus.CANCEL_ONLY)


class Side(models.TextChoices):
    BUY = "buy", "Buy"
    SELL = "sell", "Sell"


class TimeInForce(models.TextChoices):
    GTC = "GTC", "Good till cancelled"
    IOC = "IOC", "Immediate or cancel"
    FOK = "FOK", "Fill or kill"


class SelfTradePrevention(models.TextChoices):
    CANCEL_TAKER = "cancel_taker", "Cancel the newer order"
    CANCEL_MAKER = "cancel_maker", "Cancel the resting order"
    CANCEL_BOTH = "cancel_both", "Cancel both"


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    # Kept off the book by its type's engine part until its condition holds (a stop, say).
    UNTRIGGERED = "untriggered", "Untriggered"
    OPEN = "open", "Open"
    PARTIALLY_FILLED = "partially_filled", "Partially filled"
    FILLED = "filled", "Filled"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"
    REJECTED = "rejected", "Rejected"


LIVE_STATUSES = (OrderStatus.PENDING, OrderStatus.UNTRIGGERED, OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)
RESTING_STATUSES = (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)


class NextCommandSeq(models.Func):
    """nextval() of the sequence orders and cancel requests share."""

    template = f"nextval('{COMMAND_SEQUENCE}')"
    output_field = models.BigIntegerField()


class Order(models.Model):
    id = models.BigAutoField(primary_key=True)
    seq = models.BigIntegerField(unique=True, db_default=NextCommandSeq(), editable=False)
    # No index on market alone: the engine's reads and the book walk the partial (market, seq) indexes
    # below, and an index on every order's market would be written on each status change.
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="orders", db_index=False)
    # No index of its own: trading_order_user_recent (user, -created_at) serves every lookup by user,
    # and every order update (a status change is never a HOT update) would write one more entry.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders", db_index=False)
    client_order_id = models.CharField(max_length=64, blank=True)
    side = models.CharField(max_length=4, choices=Side.choices)
    type = models.CharField(max_length=24)  # an order type's name (trading.order_types checks it)
    price = money(null=True, blank=True)
    quantity = money(null=True, blank=True)  # base asset; null for a market buy sized in quote
    quote_quantity = money(null=True, blank=True)  # market buys sized in the quote asset
    time_in_force = models.CharField(max_length=3, choices=TimeInForce.choices, default=TimeInForce.GTC)
    post_only = models.BooleanField(default=False)
    self_trade_prevention = models.CharField(
        max_length=12, choices=SelfTradePrevention.choices, default=SelfTradePrevention.CANCEL_TAKER
    )
    params = models.JSONField(default=dict, blank=True)  # the amounts of its type's own (a stop price), as strings
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    filled_quantity = money(default=ZERO)
    filled_quote = money(default=ZERO)  # sum of price x quantity of its fills
    fee = money(default=ZERO)  # in the asset it receives
    held = money()  # locked at placement
    hold_remaining = money()  # still locked
    cancel_seq = models.BigIntegerField(null=True, blank=True, editable=False)
    reason = models.CharField(max_length=64, blank=True)  # why it was cancelled, expired or rejected
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_order_id"],
                condition=~Q(client_order_id=""),
                name="trading_order_client_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(filled_quantity__gte=0)
                & (Q(quantity__isnull=True) | Q(filled_quantity__lte=F("quantity"))),
                name="trading_order_fill_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(hold_remaining__gte=0, hold_remaining__lte=F("held")),
                name="trading_order_hold_within_held",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0) | Q(quantity__isnull=True, type="market", side=Side.BUY),
                name="trading_order_quantity_positive",
            ),
            # A limit order has a price and a market order none; any price is positive.
            models.CheckConstraint(
                condition=(Q(price__isnull=True) | Q(price__gt=0))
                & (~Q(type="limit") | Q(price__isnull=False))
                & (~Q(type="market") | Q(price__isnull=True)),
                name="trading_order_price_by_type",
            ),
        ]
        indexes = [
            models.Index(fields=["market", "seq"], condition=Q(status="pending"), name="trading_order_pending"),
            models.Index(
                fields=["market", "cancel_seq"],
                condition=Q(cancel_seq__isnull=False, status__in=[str(status) for status in LIVE_STATUSES]),
                name="trading_order_cancel_pending",
            ),
            models.Index(
                fields=["market", "seq"],
                condition=Q(status__in=["open", "partially_filled"]),
                name="trading_order_resting",
            ),
            models.Index(fields=["user", "-created_at"], name="trading_order_user_recent"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.side} {self.market_id}"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def average_price(self) -> Decimal | None:
        return self.filled_quote / self.filled_quantity if self.filled_quantity else None


class Trade(models.Model):
    """One match between a resting (maker) order and an incoming (taker) order. Written by the engine only."""

    id = models.BigAutoField(primary_key=True)
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="trades")
    price = money()
    quantity = money()
    quote_quantity = money()
    taker_side = models.CharField(max_length=4, choices=Side.choices)
    maker_order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="maker_trades")
    taker_order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="taker_trades")
    maker_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    taker_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    maker_fee = models.DecimalField(max_digits=36, decimal_places=18)  # in the asset the maker received
    taker_fee = models.DecimalField(max_digits=36, decimal_places=18)
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0, quantity__gt=0), name="trading_trade_positive"),
            models.CheckConstraint(condition=~Q(maker_order=F("taker_order")), name="trading_trade_two_orders"),
            # Self-trade prevention, enforced by the database too.
            models.CheckConstraint(condition=~Q(maker_user=F("taker_user")), name="trading_trade_two_users"),
        ]
        indexes = [models.Index(fields=["market", "-id"], name="trading_trade_market_recent")]

    def __str__(self) -> str:
        return f"trade #{self.pk} {self.quantity}@{self.price}"


class Candle(models.Model):
    """One market's trades in one minute (the engine writes them in its batch transaction).

    Longer intervals are rolled up from these when asked for (`trading.marketdata`).
    """

    pk = models.CompositePrimaryKey("market_id", "start")
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="+")
    start = models.DateTimeField()
    open = money()
    high = money()
    low = money()
    close = money()
    volume = money()  # base asset
    quote_volume = money()
    trades = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(low__lte=F("open"), high__gte=F("open")) & Q(low__lte=F("close"), high__gte=F("close")),
                name="trading_candle_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.market_id} {self.start:%Y-%m-%d %H:%M}"
