"""python manage.py simulate_market [--markets BTC-USDT,...] [--interval 0.5] [--seconds N] [--seed N]"""

from __future__ import annotations

import signal
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import OperationalError, connection

from trading.simulation import MarketMaker

FUND_EVERY_SECONDS = 30.0


class Command(BaseCommand):
    help = "Demo market maker: quotes and trades around a moving price on the demo markets (development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--markets", default="", help="Comma-separated symbols (default: every market).")
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds between moves (default 0.5).")
        parser.add_argument("--seconds", type=float, default=0, help="Stop after this long (default: run on).")
        parser.add_argument("--seed", type=int, default=None, help="Seed of the price walk, for a repeatable run.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.SIMULATED_DEPOSITS:
            raise CommandError("The demo market maker funds itself by simulated deposits: set SIMULATED_DEPOSITS=1.")
        symbols = [m.strip().upper() for m in options["markets"].split(",") if m.strip()]
        maker = MarketMaker(symbols or None, seed=options["seed"])
        if not maker.books:
            raise CommandError("No markets to make: run `manage.py bootstrap` first.")
        stopping = False

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        names = ", ".join(q.market.symbol for q in maker.books)
        self.stdout.write(f"market maker: quoting {names} every {options['interval']} s")
        maker.fund()
        started = last_fund = time.monotonic()  # --seconds of quoting, however long the funding took
        placed = 0
        try:
            while not stopping:
                if options["seconds"] and time.monotonic() - started >= options["seconds"]:
                    break
                try:
                    if time.monotonic() - last_fund > FUND_EVERY_SECONDS:
                        maker.fund()
                        last_fund = time.monotonic()
                    placed += maker.tick()
                except OperationalError as error:  # the database restarting: wait for it, do not die
                    self.stderr.write(f"market maker: database unavailable ({error}); retrying")
                    connection.close()
                    time.sleep(2)
                time.sleep(options["interval"])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write(f"market maker: stopped after placing {placed} orders")
