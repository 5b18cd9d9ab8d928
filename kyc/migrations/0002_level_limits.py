"""Seed the three verification levels and what each allows (compliance edits them in the admin).

The same values live in kyc/limits.py for bootstrap and tests; a migration keeps its own copy.
"""

from decimal import Decimal

from django.db import migrations

LEVELS = [
    # level, deposit, trade, withdraw, daily withdrawal limit (USDT), manual review above (USDT)
    (0, True, False, False, Decimal("0"), Decimal("0")),
    (1, True, True, True, Decimal("10000"), Decimal("5000")),
    (2, True, True, True, Decimal("250000"), Decimal("50000")),
]


def seed(apps, schema_editor):
    LevelLimit = apps.get_model("kyc", "LevelLimit")
    for level, deposit, trade, withdraw, limit, review in LEVELS:
        LevelLimit.objects.get_or_create(
            level=level,
            defaults={
                "can_deposit": deposit,
                "can_trade": trade,
                "can_withdraw": withdraw,
                "daily_withdrawal_limit": limit,
                "review_threshold": review,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("kyc", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
