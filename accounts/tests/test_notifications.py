"""The account's messages: each security event a user is told about is worded, from the record alone."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from accounts import audit, notifications
from accounts.models import AuditAction, AuditEvent, Notification
from accounts.notifications import Notice
from accounts.services import notify_user
from accounts.tasks import notify_security_event
from accounts.tests.factories import UserFactory


@pytest.mark.parametrize("action", sorted(audit.TOLD | {AuditAction.LOGIN_SUCCEEDED}))
def test_every_security_event_told_to_the_user_is_worded(action: str) -> None:
    # Given an event of an action the audit log tells the user about, from an address and a browser
    event = AuditEvent(pk=7, action=action, user_id=3, ip="198.51.100.7", user_agent="Firefox")
    # When it is worded
    notice = notifications.security_event(event)
    # Then the notice goes to the account's owner, says where it came from and what to do, and links to Security
    assert notice.user_id == 3
    assert notice.title
    assert "From 198.51.100.7 (Firefox)." in notice.body
    assert notice.body.endswith("If this was not you, change your password and contact support.")
    assert notice.link == "/security"


def test_an_event_from_no_known_address_says_no_address() -> None:
    # Given a password change made outside any request (a management command, say)
    event = AuditEvent(action=AuditAction.PASSWORD_CHANGED, user_id=3, ip=None, user_agent="")
    # When it is worded, then it says what happened and nothing about where
    assert notifications.security_event(event) == Notice(
        user_id=3,
        title="Security change on your account",
        body="Your password was changed. If this was not you, change your password and contact support.",
        link="/security",
    )


def test_the_email_carries_the_site_name_and_the_full_address_of_the_page(settings: Any) -> None:
    # Given a site with a name and an address
    settings.SITE_NAME, settings.SITE_URL = "Exch", "https://exch.example"
    # When a notice with a link, and one without, become emails
    with_link = notifications.email_of(Notice(user_id=1, title="Hello", body="Body.", link="/wallet"))
    without = notifications.email_of(Notice(user_id=1, title="Hello", body="Body."))
    # Then the subject names the site, and only a link adds the page's address
    assert (with_link.subject, with_link.body) == ("[Exch] Hello", "Body.\n\nhttps://exch.example/wallet")
    assert (without.subject, without.body) == ("[Exch] Hello", "Body.")


@pytest.mark.django_db
def test_the_job_tells_the_user_of_the_event_it_is_given(django_capture_on_commit_callbacks: Any) -> None:
    # Given a recorded change of password (its job queued on commit, not run)
    user = UserFactory()
    event = audit.record(AuditAction.PASSWORD_CHANGED, user=user)
    # When the job runs with the event's id
    with django_capture_on_commit_callbacks(execute=True):
        notify_security_event(event.pk)
    # Then the user reads it in the app and by email
    assert Notification.objects.get(user=user).body.startswith("Your password was changed.")
    assert mail.outbox[-1].to == [user.email]
    assert mail.outbox[-1].subject.endswith("Security change on your account")


@pytest.mark.django_db
def test_a_notice_not_to_be_emailed_is_only_shown_in_the_app() -> None:
    # Given a user, when a notice is sent without email
    user = UserFactory()
    notify_user(Notice(user_id=user.pk, title="Still here", body=""), email=False)
    # Then it is recorded for the app, and no email goes out
    assert Notification.objects.get(user=user).title == "Still here"
    assert not mail.outbox
