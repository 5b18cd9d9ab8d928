"""AML rules: sanctions names, withdrawals right after deposits, amounts just under a threshold."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.tests.factories import UserFactory
from kyc import aml, services
from kyc.models import AmlEventKind, AmlFlag, SanctionsEntry
from kyc.tests.factories import DETAILS, image_bytes, upload

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("a", "b"),
    [("Doe, John", "john DOE"), ("Józef Nowak", "jozef nowak"), ("Jean-Luc Picard", "picard jean luc")],
)
def test_names_are_normalized_for_matching(a, b):
    assert aml.normalize_name(a) == aml.normalize_name(b)


def test_loading_a_sanctions_list_replaces_that_list_only(tmp_path: Path):
    first = tmp_path / "one.csv"
    first.write_text('reference,name,country\nA1,Ivan Placeholder,XX\nA2,"Doe, John",\n')
    assert aml.load_sanctions_csv(path=first, source="ONE") == 2
    SanctionsEntry.objects.create(source="OTHER", reference="Z", name="Zed", normalized_name="zed")
    second = tmp_path / "two.csv"
    second.write_text("reference,name\nA3,Someone Else\n")
    assert aml.load_sanctions_csv(path=second, source="ONE") == 1
    assert set(SanctionsEntry.objects.values_list("source", "reference")) == {("ONE", "A3"), ("OTHER", "Z")}


@pytest.mark.parametrize(
    ("content", "message"), [("ref,fullname\n1,x\n", "header lacks"), ("reference,name\n1,\n", "required")]
)
def test_a_malformed_list_is_refused_and_changes_nothing(tmp_path: Path, content, message):
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    with pytest.raises(CommandError, match=message):
        call_command("load_sanctions_list", str(bad), "--source", "X")
    assert not SanctionsEntry.objects.exists()


def _submit(user, full_name: str):
    services.submit_details(user=user, **{**DETAILS, "full_name": full_name})
    services.upload_document(user=user, document_type="passport", upload=upload())
    services.upload_document(user=user, document_type="selfie", upload=upload("s.jpg", image_bytes("JPEG")))
    return services.submit_verification(user=user)


def test_a_sanctioned_name_is_flagged_when_submitted(tmp_path: Path, django_capture_on_commit_callbacks):
    listing = tmp_path / "list.csv"
    listing.write_text('reference,name\nS-1,"Placeholder, Ivan"\n')
    aml.load_sanctions_csv(path=listing, source="TEST")
    suspect, innocent = UserFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        verification = _submit(suspect, "ivan  PLACEHOLDER")
    with django_capture_on_commit_callbacks(execute=True):
        _submit(innocent, "Ivana Placeholders")
    flag = AmlFlag.objects.get()
    assert (flag.user, flag.rule, flag.severity, flag.status) == (suspect, "sanctions_name_match", "high", "open")
    assert flag.details["verification"] == verification.pk


def _event(user, kind, value, hours_ago=0.0):
    return aml.record_event(
        user_id=user.pk,
        kind=kind,
        asset="USDT",
        amount=Decimal(value),
        value_usdt=Decimal(value),
        occurred_at=timezone.now() - timedelta(hours=hours_ago),
    )


def test_a_withdrawal_soon_after_a_deposit_is_flagged_once():
    user = UserFactory()
    _event(user, AmlEventKind.DEPOSIT_CREDITED, "5000", hours_ago=3)
    small = _event(user, AmlEventKind.WITHDRAWAL_REQUESTED, "1000")
    assert aml.evaluate_event(event_id=small.pk) == []
    big = _event(user, AmlEventKind.WITHDRAWAL_REQUESTED, "4500")
    [flag] = aml.evaluate_event(event_id=big.pk)
    assert flag.rule == "withdrawal_soon_after_deposit"
    # The task running again raises nothing new.
    assert aml.evaluate_event(event_id=big.pk) == []
    assert AmlFlag.objects.count() == 1


def test_a_withdrawal_long_after_a_deposit_is_not_flagged():
    user = UserFactory()
    _event(user, AmlEventKind.DEPOSIT_CREDITED, "5000", hours_ago=30)
    late = _event(user, AmlEventKind.WITHDRAWAL_REQUESTED, "5000")
    assert aml.evaluate_event(event_id=late.pk) == []


def test_repeated_amounts_just_under_the_threshold_are_flagged():
    user = UserFactory()
    events = [_event(user, AmlEventKind.DEPOSIT_CREDITED, value, hours_ago=h) for value, h in
              (("9500", 5), ("9900", 3), ("12000", 2))]  # fmt: skip
    assert [aml.evaluate_event(event_id=e.pk) for e in events] == [[], [], []]
    third = _event(user, AmlEventKind.DEPOSIT_CREDITED, "9800")
    [flag] = aml.evaluate_event(event_id=third.pk)
    assert flag.rule == "repeated_just_under_threshold"
    assert len(flag.details["events"]) == 3
    fourth = _event(user, AmlEventKind.DEPOSIT_CREDITED, "9700")
    assert aml.evaluate_event(event_id=fourth.pk) == []  # the same run, flagged already


def test_the_celery_task_runs_the_rules_after_commit(django_capture_on_commit_callbacks):
    user = UserFactory()
    _event(user, AmlEventKind.DEPOSIT_CREDITED, "5000", hours_ago=1)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _event(user, AmlEventKind.WITHDRAWAL_REQUESTED, "5000")
    assert len(callbacks) == 1
    assert AmlFlag.objects.filter(rule="withdrawal_soon_after_deposit").count() == 1
