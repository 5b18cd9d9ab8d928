"""python manage.py run_matching_engine [--markets BTC-USDT,ETH-USDT]"""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from trading.worker import EngineWorker


class Command(BaseCommand):
    help = "Run the matching-engine worker until SIGTERM or Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--markets",
            default="",
            help="Comma-separated symbols this worker runs (default: every market).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        markets = [m.strip().upper() for m in options["markets"].split(",") if m.strip()]
        worker = EngineWorker(markets=markets)

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            self.stdout.write(f"engine: {signal.Signals(signum).name} received, finishing the current step")
            worker.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        worker.run()
