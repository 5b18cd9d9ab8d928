"""The withdrawal confirmation email: when it went out, asking for a new one, and what a stale link does."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.tests.test_api_auth import assert_error
from conftest import errors_logged
from kyc.tests.factories import verified_user
from kyc.tests.test_api import client_for
from wallets.models import Withdrawal, WithdrawalStatus
from wallets.tests.factories import fund
from wallets.tests.test_withdrawals import btc, confirmation_token, trader, withdraw  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def requested(trader, django_capture_on_commit_callbacks):  # noqa: F811
    client = client_for(trader)
    with django_capture_on_commit_callbacks(execute=True):
        body = withdraw(client, "0.1").json()
    return client, Withdrawal.objects.get(pk=body["id"])


def test_the_withdrawal_says_when_its_confirmation_email_went_out(requested):
    client, withdrawal = requested
    # Given the worker sent the email (eagerly here)
    assert len(mail.outbox) == 1
    # Then the withdrawal records it, and the API and the page show it
    withdrawal.refresh_from_db()
    assert withdrawal.confirmation_sent_at is not None
    assert client.get(f"/api/wallet/withdrawals/{withdrawal.pk}").json()["confirmation_sent_at"]
    page = client_for_page(withdrawal.user).get(f"/wallet/withdrawals/{withdrawal.pk}").content.decode()
    assert f"Sent to {withdrawal.user.email}" in page
    assert "Resend confirmation email" in page


def confirmation_emails():
    return [m for m in mail.outbox if "Confirm your withdrawal" in m.subject]


def client_for_page(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_resending_mails_a_new_link_and_the_old_one_stops_working(requested, django_capture_on_commit_callbacks):
    client, withdrawal = requested
    old_token = confirmation_token()
    # When the user asks for a new email
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/wallet/withdrawals/{withdrawal.pk}/resend-confirmation", format="json")
    # Then a second email with another link goes out
    assert response.status_code == 200
    assert len(mail.outbox) == 2
    new_token = confirmation_token()
    assert new_token != old_token
    # And the first link no longer confirms, the second does
    response = client.post(f"/api/wallet/withdrawals/{withdrawal.pk}/confirm", {"token": old_token}, format="json")
    assert_error(response, 403, "permission_denied")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/wallet/withdrawals/{withdrawal.pk}/confirm", {"token": new_token}, format="json")
    assert response.status_code == 200
    assert Withdrawal.objects.get(pk=withdrawal.pk).status == WithdrawalStatus.COMPLETED


def test_resending_is_limited_to_once_a_minute(requested, django_capture_on_commit_callbacks):
    client, withdrawal = requested
    path = f"/api/wallet/withdrawals/{withdrawal.pk}/resend-confirmation"
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(path, format="json").status_code == 200
    token_hash = Withdrawal.objects.get(pk=withdrawal.pk).confirmation_token_hash
    # When asked again at once
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(path, format="json")
    # Then it is refused with a Retry-After, and nothing changes
    assert_error(response, 429, "too_many_requests")
    assert response["Retry-After"] == "60"
    assert len(mail.outbox) == 2
    assert Withdrawal.objects.get(pk=withdrawal.pk).confirmation_token_hash == token_hash


def test_nothing_to_resend_once_confirmed_or_for_someone_else(requested, django_capture_on_commit_callbacks):
    client, withdrawal = requested
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/wallet/withdrawals/{withdrawal.pk}/confirm", {"token": confirmation_token()}, format="json")
    response = client.post(f"/api/wallet/withdrawals/{withdrawal.pk}/resend-confirmation", format="json")
    assert_error(response, 409, "conflict")
    other = verified_user(level=1)
    response = client_for(other).post(f"/api/wallet/withdrawals/{withdrawal.pk}/resend-confirmation", format="json")
    assert_error(response, 404, "not_found")
    assert len(confirmation_emails()) == 1


def test_a_stale_email_job_sends_nothing(requested, django_capture_on_commit_callbacks):
    from wallets.tasks import send_withdrawal_confirmation

    client, withdrawal = requested
    stale = confirmation_token()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/wallet/withdrawals/{withdrawal.pk}/resend-confirmation", format="json")
    # When a delayed job with the first link runs late (a retry after the mail server came back)
    assert send_withdrawal_confirmation(withdrawal.pk, stale) is False
    # Then no email carries a link that no longer works
    assert len(mail.outbox) == 2


def test_the_page_resends_and_says_so(requested, django_capture_on_commit_callbacks):
    _, withdrawal = requested
    client = client_for_page(withdrawal.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/wallet/withdrawals/{withdrawal.pk}/resend", follow=True)
    assert "A new confirmation email is on its way" in response.content.decode()
    assert len(mail.outbox) == 2
    response = client.post(f"/wallet/withdrawals/{withdrawal.pk}/resend", follow=True)
    assert "wait a minute" in response.content.decode()
    assert len(mail.outbox) == 2


def test_a_job_that_cannot_be_queued_is_logged_and_the_page_says_the_email_is_not_out(
    trader,  # noqa: F811
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    # Given a broker that cannot be reached (not eager: the task goes through it)
    from exchange.core.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", False)
    monkeypatch.setitem(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setitem(app.conf, "broker_connection_retry", False)
    monkeypatch.setitem(app.conf, "task_publish_retry", False)
    # Connection and producer pools of the unreachable broker, for this test
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
    client = client_for(trader)
    # When a withdrawal is requested
    with errors_logged("exchange.core.queue") as errors, django_capture_on_commit_callbacks(execute=True):
        response = withdraw(client, "0.1")
    # Then the request stands, the failure is logged as an error, and the page says the email is not out
    assert response.status_code == 201
    assert any(
        re.search(r"could not queue task wallets\.tasks\.send_withdrawal_confirmation", m) for m in errors.messages
    )
    withdrawal = Withdrawal.objects.get(pk=response.json()["id"])
    assert withdrawal.confirmation_sent_at is None
    page = client_for_page(trader).get(f"/wallet/withdrawals/{withdrawal.pk}").content.decode()
    assert "On its way to" in page
    assert not mail.outbox


def test_withdrawal_page_is_the_owners_only(requested):
    _, withdrawal = requested
    other = verified_user(level=1)
    fund(other.pk, withdrawal.asset, "1")
    assert client_for_page(other).get(f"/wallet/withdrawals/{withdrawal.pk}").status_code == 404
