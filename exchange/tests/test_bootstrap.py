"""The bootstrap command: the seed data of every app, demo users only in development or on request."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts.models import User
from kyc.models import SanctionsEntry

pytestmark = pytest.mark.django_db


def test_bootstrap_creates_demo_users_once(settings):
    settings.DEBUG = True
    call_command("bootstrap", stdout=StringIO())
    assert set(User.objects.values_list("username", flat=True)) == {"admin", "compliance", "alice", "bob"}
    admin = User.objects.get(username="admin")
    assert admin.is_superuser
    assert admin.is_staff
    officer = User.objects.get(username="compliance")
    assert officer.is_staff
    assert not officer.is_superuser
    assert officer.has_perm("kyc.review_verification")
    assert not User.objects.get(username="alice").is_staff
    assert SanctionsEntry.objects.filter(source="DEMO").count() == 4
    User.objects.filter(username="alice").update(email="changed@example.com")

    out = StringIO()
    call_command("bootstrap", stdout=out)
    assert User.objects.count() == 4
    assert SanctionsEntry.objects.filter(source="DEMO").count() == 4
    assert User.objects.get(username="alice").email == "changed@example.com"
    assert "exists, left as it is" in out.getvalue()


def test_bootstrap_creates_no_demo_users_in_production(settings):
    settings.DEBUG = False
    call_command("bootstrap", stdout=StringIO())
    assert not User.objects.exists()
    assert not SanctionsEntry.objects.exists()
    assert set(Group.objects.values_list("name", flat=True)) == {"Compliance", "Treasury", "Support"}
    call_command("bootstrap", "--demo", stdout=StringIO())
    assert User.objects.count() == 4
