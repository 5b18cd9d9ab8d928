"""AML monitoring: events go in, rules look at them, flags come out for compliance to review.

Other apps report what happens (`record_event`, in their own transaction); a Celery task then runs
every rule interested in that kind of event. A rule is a small class: add one to RULES to extend
the monitoring. Raising the same flag twice is impossible (a fingerprint per flag, unique in the
database), so a task may run again safely. An app whose finding needs no rule (a deposit that could
not be credited) raises its flag directly, in its own transaction (`raise_flag`).
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from exchange.core.queue import enqueue_on_commit
from kyc.models import AmlEvent, AmlEventKind, AmlFlag, FlagSeverity, SanctionsEntry, Verification


@dataclass(frozen=True)
class FlagSpec:
    severity: str
    summary: str
    fingerprint: str
    details: dict[str, object] = field(default_factory=dict)


class Rule:
    """One AML check. `evaluate` returns the flags an event deserves (usually none)."""

    code: ClassVar[str]
    kinds: ClassVar[frozenset[str]]

    def evaluate(self, event: AmlEvent) -> list[FlagSpec]:
        raise NotImplementedError


def normalize_name(name: str) -> str:
    """Lower case, accents and punctuation removed, parts sorted: 'Doe, Jöhn' -> 'doe john'."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    words = "".join(c if c.isalnum() else " " for c in plain.casefold()).split()
    return " ".join(sorted(words))


class SanctionsNameMatch(Rule):
    """The name on a submitted verification is on a sanctions list."""

    code = "sanctions_name_match"
    kinds = frozenset({AmlEventKind.VERIFICATION_SUBMITTED})

    def evaluate(self, event: AmlEvent) -> list[FlagSpec]:
        verification = Verification.objects.filter(pk=int(event.reference or 0), user_id=event.user_id).first()
        if verification is None:
            return []
        normalized = normalize_name(verification.full_name)
        return [
            FlagSpec(
                severity=FlagSeverity.HIGH,
                summary=f"Name '{verification.full_name}' matches sanctions entry '{entry.name}' ({entry.source}).",
                fingerprint=f"verification:{verification.pk}:entry:{entry.pk}",
                details={"verification": verification.pk, "entry": entry.pk, "source": entry.source},
            )
            for entry in SanctionsEntry.objects.filter(normalized_name=normalized)
        ]


class WithdrawalSoonAfterDeposit(Rule):
    """Most of a deposit leaves again within hours: the account may be a pass-through."""

    code = "withdrawal_soon_after_deposit"
    kinds = frozenset({AmlEventKind.WITHDRAWAL_REQUESTED})

    def evaluate(self, event: AmlEvent) -> list[FlagSpec]:
        if event.value_usdt is None:
            return []
        window = timedelta(hours=settings.AML_RAPID_WITHDRAWAL_HOURS)
        deposits = AmlEvent.objects.filter(
            user_id=event.user_id,
            kind=AmlEventKind.DEPOSIT_CREDITED,
            occurred_at__gte=event.occurred_at - window,
            occurred_at__lte=event.occurred_at,
            value_usdt__isnull=False,
        )
        deposited = sum((d.value_usdt for d in deposits if d.value_usdt is not None), Decimal("0"))
        if deposited <= 0 or event.value_usdt < deposited * settings.AML_RAPID_WITHDRAWAL_SHARE:
            return []
        return [
            FlagSpec(
                severity=FlagSeverity.MEDIUM,
                summary=(
                    f"Withdrawal of {event.value_usdt} USDT within {settings.AML_RAPID_WITHDRAWAL_HOURS} h "
                    f"of deposits worth {deposited} USDT."
                ),
                fingerprint=f"event:{event.pk}",
                details={"withdrawal_event": event.pk, "deposit_events": [d.pk for d in deposits]},
            )
        ]


class RepeatedJustUnderThreshold(Rule):
    """Several amounts just under the reporting threshold in a day: possible structuring."""

    code = "repeated_just_under_threshold"
    kinds = frozenset({AmlEventKind.DEPOSIT_CREDITED, AmlEventKind.WITHDRAWAL_REQUESTED})

    def evaluate(self, event: AmlEvent) -> list[FlagSpec]:
        threshold = Decimal(settings.AML_REPORTING_THRESHOLD_USDT)
        floor = threshold * settings.AML_JUST_UNDER_SHARE
        if event.value_usdt is None or not floor <= event.value_usdt < threshold:
            return []
        similar = list(
            AmlEvent.objects.filter(
                user_id=event.user_id,
                kind=event.kind,
                occurred_at__gte=event.occurred_at - timedelta(hours=24),
                occurred_at__lte=event.occurred_at,
                value_usdt__gte=floor,
                value_usdt__lt=threshold,
            ).order_by("occurred_at", "pk")
        )
        if len(similar) < settings.AML_JUST_UNDER_COUNT:
            return []
        return [
            FlagSpec(
                severity=FlagSeverity.HIGH,
                summary=(
                    f"{len(similar)} {event.get_kind_display().lower()} events in 24 h between {floor} and "
                    f"{threshold} USDT."
                ),
                # One flag per run of such events: the run is named by its first event.
                fingerprint=f"run-from-event:{similar[0].pk}",
                details={"events": [e.pk for e in similar], "threshold": str(threshold)},
            )
        ]


RULES: list[Rule] = [SanctionsNameMatch(), WithdrawalSoonAfterDeposit(), RepeatedJustUnderThreshold()]

# Flags that the other apps raise themselves, when what they saw is a finding already (no rule to run).
DEPOSIT_NOT_CREDITED = "deposit_not_credited"  # crediting a deposit failed: it is held for treasury


def raise_flag(*, user_id: int, rule: str, spec: FlagSpec) -> AmlFlag | None:
    """Raise a flag inside the caller's transaction; return it, or None if it was raised before."""
    try:
        with transaction.atomic():  # a savepoint: the duplicate's error must not break the caller's transaction
            return AmlFlag.objects.create(
                user_id=user_id,
                rule=rule,
                severity=spec.severity,
                summary=spec.summary[:300],
                details=spec.details,
                fingerprint=spec.fingerprint,
            )
    except IntegrityError:
        return None


def flag_deposit_not_credited(*, user_id: int, deposit_id: int, summary: str, details: dict[str, object]) -> None:
    """Tell compliance and treasury that a deposit could not be credited (once per deposit)."""
    raise_flag(
        user_id=user_id,
        rule=DEPOSIT_NOT_CREDITED,
        spec=FlagSpec(
            severity=FlagSeverity.HIGH,
            summary=summary,
            fingerprint=f"deposit:{deposit_id}",
            details={"deposit": deposit_id, **details},
        ),
    )


def record_event(
    *,
    user_id: int,
    kind: str,
    asset: str = "",
    amount: Decimal | None = None,
    value_usdt: Decimal | None = None,
    reference: str = "",
    occurred_at: datetime | None = None,
) -> AmlEvent:
    """Record an event inside the caller's transaction; the rules run after it commits."""
    event = AmlEvent.objects.create(
        user_id=user_id,
        kind=kind,
        asset=asset,
        amount=amount,
        value_usdt=value_usdt,
        reference=reference,
        occurred_at=occurred_at or timezone.now(),
    )
    enqueue_on_commit("kyc.tasks.evaluate_aml_event", event.pk)
    return event


def evaluate_event(*, event_id: int, rules: Iterable[Rule] | None = None) -> list[AmlFlag]:
    """Run the rules for one event; return the flags raised now (none that existed already)."""
    event = AmlEvent.objects.get(pk=event_id)
    raised = []
    for rule in RULES if rules is None else rules:
        if event.kind not in rule.kinds:
            continue
        for spec in rule.evaluate(event):
            flag = raise_flag(user_id=event.user_id, rule=rule.code, spec=spec)
            if flag is not None:  # None: raised before (the task ran again), once is enough
                raised.append(flag)
    return raised


def load_sanctions_csv(*, path: Path, source: str) -> int:
    """Replace the entries of one sanctions list with those of a CSV file (reference,name[,country])."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"reference", "name"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: the header lacks {', '.join(sorted(missing))}")
        entries = {}
        for line, row in enumerate(reader, start=2):
            reference, name = (row.get("reference") or "").strip(), (row.get("name") or "").strip()
            if not reference or not name:
                raise ValueError(f"{path}:{line}: reference and name are required")
            entries[reference] = SanctionsEntry(
                source=source,
                reference=reference,
                name=name,
                normalized_name=normalize_name(name),
                country=(row.get("country") or "").strip().upper()[:2],
            )
    with transaction.atomic():
        SanctionsEntry.objects.filter(source=source).delete()
        SanctionsEntry.objects.bulk_create(entries.values())
    return len(entries)
