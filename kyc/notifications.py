"""What users are told about their identity verification, word for word (see accounts.notifications)."""

from __future__ import annotations

from django.urls import reverse

from accounts.notifications import Notice
from kyc.models import KycLevel, Verification, VerificationStatus


def verification_decided(verification: Verification) -> Notice:
    """Return the notice of compliance's decision on a verification: the level reached, or the reason not.

    A decision is final (a new submission is a new verification), so the one asked about is decided.
    """
    if verification.status == VerificationStatus.APPROVED:
        title = f"You are verified: level {verification.level}"
        body = "Your identity verification was approved. " + (
            "You can now trade and withdraw."
            if verification.level == KycLevel.VERIFIED
            else "Your higher limits apply now."
        )
    elif verification.status == VerificationStatus.REJECTED:
        title = "Your verification was not approved"
        body = f"Reason: {verification.rejection_reason}\n\nYou can correct it and submit again."
    else:
        raise ValueError(f"verification {verification.pk} is {verification.status}: nothing was decided")
    return Notice(user_id=verification.user_id, title=title, body=body, link=reverse("kyc:status"))
