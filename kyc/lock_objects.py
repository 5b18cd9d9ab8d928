"""Every row lock taken by kyc, in one place."""

from __future__ import annotations

from exchange.core.errors import NotFound
from kyc.models import Verification


def lock_verification(*, verification_id: int) -> Verification:
    """Lock a verification before deciding it: two reviewers never both decide one."""
    verification = Verification.objects.select_for_update().filter(pk=verification_id).first()
    if verification is None:
        raise NotFound("No such verification.")
    return verification
