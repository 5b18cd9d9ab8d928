"""What the exchange tells its users, word for word: the account's messages, and the shapes all apps use.

Each app words its messages in its own `notifications.py`: one function per message, taking the
record the message is about and returning what is sent, a `Notice` (shown in the app and emailed,
by `accounts.services.notify_user`) or an `Email`. Services decide whether and when to tell (a task
queued on commit); these functions only say it, so a message's wording is read and changed in one
place. They read no database and send nothing. Amounts in messages go through
`exchange.core.money.trimmed`: every digit, however large the amount.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from accounts.models import AuditAction, AuditEvent


@dataclass(frozen=True)
class Notice:
    """A message to one user: shown in the app with a link to the page it is about, and usually emailed."""

    user_id: int
    title: str
    body: str
    link: str = ""


@dataclass(frozen=True)
class Email:
    subject: str
    body: str


def subject(title: str) -> str:
    """Return an email's subject: the title, after the site's name (what a mail filter sorts by)."""
    return f"[{settings.SITE_NAME}] {title}"


def email_of(notice: Notice) -> Email:
    """Return the email that carries a notice: the page it links to follows the body, as a full address."""
    body = f"{notice.body}\n\n{settings.SITE_URL}{notice.link}" if notice.link else notice.body
    return Email(subject=subject(notice.title), body=body)


SECURITY_CHANGE = "Security change on your account"
# The title and opening of each security event's notice (accounts.audit decides which are sent).
SECURITY_NOTICES: dict[str, tuple[str, str]] = {
    AuditAction.LOGIN_SUCCEEDED: ("Sign-in from a new address", "Your account was signed in to."),
    AuditAction.TWO_FACTOR_ENABLED: (SECURITY_CHANGE, "Two-factor authentication was turned on for your account."),
    AuditAction.TWO_FACTOR_DISABLED: (SECURITY_CHANGE, "Two-factor authentication was turned off for your account."),
    AuditAction.PASSWORD_CHANGED: (SECURITY_CHANGE, "Your password was changed."),
    AuditAction.LOGIN_FAILURES_ALERT: (
        "Many failed sign-ins on your account",
        "Many wrong passwords were tried for your account within the hour, from many addresses. Sign-ins from "
        "addresses you never used are slowed down for now; with two-factor authentication on, your password "
        "and a code always sign you in. Turn it on if it is off, and choose a new password if it is weak.",
    ),
}


def security_event(event: AuditEvent) -> Notice:
    """Return the notice of a security event on the user's account: what happened, from where, what to do."""
    if event.user_id is None:
        raise ValueError(f"audit event {event.pk} concerns no account: nobody to tell")
    title, opening = SECURITY_NOTICES[event.action]
    where = ""
    if event.ip:
        where = f" From {event.ip}" + (f" ({event.user_agent})" if event.user_agent else "") + "."
    body = f"{opening}{where} If this was not you, change your password and contact support."
    return Notice(user_id=event.user_id, title=title, body=body, link="/security")
