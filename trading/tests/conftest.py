"""Every trading test that touches the database ends with the ledger audit, as the wallet tests do."""

from __future__ import annotations

from wallets.tests.conftest import _audit_after_each_test

__all__ = ["_audit_after_each_test"]
