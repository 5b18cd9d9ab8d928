"""python manage.py bootstrap [--demo]: load the data a fresh exchange needs, idempotently.

Later parts of the system add their steps here (assets and markets, staff groups). Demo users are
created only in development (DEBUG) or with --demo, and existing users are never changed.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.models import User

DEMO_USERS = (
    # username, password, is_superuser
    ("admin", "admin-demo-pass", True),
    ("alice", "alice-demo-pass", False),
    ("bob", "bob-demo-pass", False),
)


class Command(BaseCommand):
    help = "Load the exchange's seed data, and demo users in development. Safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--demo", action="store_true", help="Create demo users even when DEBUG is off.")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.DEBUG or options["demo"]:
            self.create_demo_users()

    @transaction.atomic
    def create_demo_users(self) -> None:
        for username, password, is_superuser in DEMO_USERS:
            if User.objects.filter(username__iexact=username).exists():
                self.stdout.write(f"user {username}: exists, left as it is")
                continue
            email = f"{username}@example.com"
            if is_superuser:
                User.objects.create_superuser(username=username, email=email, password=password)
            else:
                User.objects.create_user(username=username, email=email, password=password)
            self.stdout.write(self.style.SUCCESS(f"user {username}: created (password {password})"))
