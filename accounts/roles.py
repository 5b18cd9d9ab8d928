"""Staff roles as Django groups, each with exactly the permissions its work needs.

Compliance reviews KYC, AML and withdrawals held for review, and may look at users; Treasury runs
the hot and cold wallets; Support only looks. `manage.py setup_roles` applies this, idempotently:
a group ends up with these permissions and no others.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

ROLES: dict[str, list[str]] = {
    "Compliance": [
        "accounts.view_user",
        "accounts.view_auditevent",
        "kyc.view_verification",
        "kyc.review_verification",
        "kyc.view_verificationdecision",
        "kyc.view_document",
        "kyc.view_amlflag",
        "kyc.change_amlflag",
        "kyc.view_amlevent",
        "kyc.view_sanctionsentry",
        "kyc.view_levellimit",
        "kyc.change_levellimit",
        "wallets.review_withdrawal",
        "wallets.view_withdrawal",
    ],
    "Treasury": [
        "accounts.view_user",
        "wallets.view_asset",
        "wallets.view_ledgeraccount",
        "wallets.view_journalentry",
        "wallets.view_withdrawal",
        "wallets.view_deposit",
        "wallets.review_deposit",  # credit again, or reject, a deposit held because crediting failed
        "wallets.view_coldwallet",
        "wallets.view_coldwallettransfer",
        "wallets.add_coldwallettransfer",
        "wallets.change_coldwallettransfer",
        # Ask for a new cold-wallet address, and approve or reject a colleague's (never one's own).
        "wallets.view_coldwalletaddresschange",
        "wallets.add_coldwalletaddresschange",
        "wallets.change_coldwalletaddresschange",
    ],
    "Support": [
        "accounts.view_user",
        "kyc.view_verification",
        "kyc.view_levellimit",
    ],
}


def _permission(dotted: str) -> Permission:
    app_label, codename = dotted.split(".", 1)
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@transaction.atomic
def setup_roles() -> dict[str, int]:
    """Create or update every role group; return how many permissions each has."""
    counts = {}
    for name, dotted_names in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set([_permission(dotted) for dotted in dotted_names])
        counts[name] = len(dotted_names)
    return counts
