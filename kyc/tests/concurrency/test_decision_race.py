"""Two compliance officers deciding one verification at the same instant: exactly one decision."""

from __future__ import annotations

import pytest

from accounts.tests.factories import UserFactory
from conftest import race
from exchange.core.errors import Conflict
from kyc import services
from kyc.models import Verification, VerificationDecision
from kyc.tests.factories import DETAILS, image_bytes, staff_user, upload

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_verification_gets_one_decision():
    trader = UserFactory()
    services.submit_details(user=trader, **DETAILS)
    services.upload_document(user=trader, document_type="passport", upload=upload())
    services.upload_document(user=trader, document_type="selfie", upload=upload("s.jpg", image_bytes("JPEG")))
    verification = services.submit_verification(user=trader)
    officers = [staff_user("Compliance") for _ in range(4)]
    turn = iter(range(4))

    def decide():
        i = next(turn)
        if i % 2:
            return services.reject_verification(verification_id=verification.pk, staff=officers[i], reason="No.")
        return services.approve_verification(verification_id=verification.pk, staff=officers[i])

    results = race(decide)
    assert sum(isinstance(r, Verification) for r in results) == 1, results
    assert sum(isinstance(r, Conflict) for r in results) == 3, results
    assert VerificationDecision.objects.filter(verification=verification).count() == 1
    trader.refresh_from_db()
    verification.refresh_from_db()
    assert trader.kyc_status == verification.status
