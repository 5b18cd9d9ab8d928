"""Every wallet test ends with the ledger audit: whatever a test did to money, the invariants hold."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _audit_after_each_test(request: Any) -> Iterator[None]:
    yield
    if request.node.get_closest_marker("corrupts_ledger") or not request.node.get_closest_marker("django_db"):
        return
    if request.node.get_closest_marker("browser"):
        return  # the browser tests' database work ran elsewhere; their flows are audited in the API tests
    from wallets.audit import run_audit

    result = run_audit()
    assert result.ok, f"ledger audit after {request.node.name}: {result.problems}"
