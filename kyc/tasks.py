"""KYC and AML background jobs: they take ids and call services; running one twice is harmless."""

from __future__ import annotations

from celery import shared_task
from django.urls import reverse

from accounts.services import notify_user
from kyc import aml
from kyc.models import Verification, VerificationStatus


@shared_task
def evaluate_aml_event(event_id: int) -> int:
    """Run the AML rules on one event; return how many new flags it raised."""
    return len(aml.evaluate_event(event_id=event_id))


@shared_task
def notify_verification_decided(verification_id: int) -> None:
    """Tell the user, in the app and by email, what compliance decided."""
    verification = Verification.objects.get(pk=verification_id)
    if verification.status == VerificationStatus.APPROVED:
        title = f"You are verified: level {verification.level}"
        body = "Your identity verification was approved. " + (
            "You can now trade and withdraw." if verification.level == 1 else "Your higher limits apply now."
        )
    elif verification.status == VerificationStatus.REJECTED:
        title = "Your verification was not approved"
        body = f"Reason: {verification.rejection_reason}\n\nYou can correct it and submit again."
    else:
        return
    notify_user(user_id=verification.user_id, title=title, body=body, link=reverse("kyc:status"))
