"""python manage.py audit_ledger: check the ledger's invariants; exit 1 when one is broken."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from exchange.core.money import trimmed
from wallets.audit import run_audit
from wallets.audit_runs import record_audit


class Command(BaseCommand):
    help = "Check the five ledger invariants and print a report per asset. Exits with status 1 on a problem."

    def handle(self, *args: Any, **options: Any) -> None:
        result = run_audit()
        record_audit(result, source="manage.py audit_ledger")  # the admin dashboard shows the last one
        header = (
            f"{'asset':<8}{'available':>22}{'locked':>22}{'fee revenue':>22}{'hot':>22}{'cold':>22}{'in transit':>22}"
        )
        self.stdout.write(header)
        for r in result.assets:
            cells = (r.available, r.locked, r.fee_revenue, r.hot, r.cold, r.in_transit)
            self.stdout.write(f"{r.code:<8}" + "".join(f"{trimmed(v) if v else '0':>22}" for v in cells))
        self.stdout.write("")
        for line in result.checked:
            self.stdout.write(f"checked {line}")
        if result.ok:
            self.stdout.write(self.style.SUCCESS("ledger OK: every invariant holds"))
            return
        self.stderr.write(self.style.ERROR(f"ledger BROKEN: {len(result.problems)} problem(s)"))
        for problem in result.problems:
            self.stderr.write(f"  {problem}")
        raise SystemExit(1)
