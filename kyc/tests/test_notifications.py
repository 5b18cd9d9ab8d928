"""What users are told of compliance's decision on their verification."""

from __future__ import annotations

import pytest

from kyc import notifications
from kyc.models import KycLevel, Verification, VerificationStatus


def verification(status: str, level: int = KycLevel.VERIFIED, reason: str = "") -> Verification:
    return Verification(pk=4, user_id=8, level=level, status=status, rejection_reason=reason)


@pytest.mark.parametrize(
    ("level", "news"),
    [(KycLevel.VERIFIED, "You can now trade and withdraw."), (KycLevel.VERIFIED_PLUS, "Your higher limits apply now.")],
)
def test_an_approval_names_the_level_reached_and_what_it_opens(level, news):
    # Given an approved verification of a level, when its notice is worded
    notice = notifications.verification_decided(verification(VerificationStatus.APPROVED, level=level))
    # Then it names the level and says what changes, with a link to the verification page
    assert notice.title == f"You are verified: level {level}"
    assert notice.body == f"Your identity verification was approved. {news}"
    assert (notice.user_id, notice.link) == (8, "/kyc")


def test_a_rejection_gives_the_reason_and_the_way_forward():
    # Given a rejected verification, when its notice is worded
    notice = notifications.verification_decided(
        verification(VerificationStatus.REJECTED, reason="The name differs from the passport.")
    )
    # Then it gives compliance's reason and says the user may submit again
    assert notice.title == "Your verification was not approved"
    assert notice.body == "Reason: The name differs from the passport.\n\nYou can correct it and submit again."


@pytest.mark.parametrize("status", [VerificationStatus.DRAFT, VerificationStatus.PENDING])
def test_an_undecided_verification_has_no_decision_to_tell(status):
    # Given a verification nobody decided, when its decision is to be worded, then that is refused
    with pytest.raises(ValueError, match="nothing was decided"):
        notifications.verification_decided(verification(status))
