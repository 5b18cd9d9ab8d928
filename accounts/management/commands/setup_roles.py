"""python manage.py setup_roles: create or update the staff groups (Compliance, Treasury, Support)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.roles import setup_roles


class Command(BaseCommand):
    help = "Create or update the staff role groups with exactly their permissions. Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, count in setup_roles().items():
            self.stdout.write(f"role {name}: {count} permissions")
