"""KYC and AML background jobs: they take ids and call services; running one twice is harmless."""

from __future__ import annotations

from celery import shared_task

from accounts.services import notify_user
from kyc import aml, notifications
from kyc.models import Verification


@shared_task
def evaluate_aml_event(event_id: int) -> int:
    """Run the AML rules on one event; return how many new flags it raised."""
    return len(aml.evaluate_event(event_id=event_id))


@shared_task
def notify_verification_decided(verification_id: int) -> None:
    """Tell the user, in the app and by email, what compliance decided."""
    notify_user(notifications.verification_decided(Verification.objects.get(pk=verification_id)))
