"""The client address: the TCP peer, unless the peer is a trusted proxy, then the right-most address of
X-Forwarded-For that is not one. A header sent by anyone else changes nothing: not the rate limits,
the DDoS guard, an API key's whitelist, the audit log, nor the stream."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from rest_framework.test import APIClient

from accounts.models import AuditAction, AuditEvent
from accounts.tests.factories import PASSWORD, UserFactory
from exchange.core.client_address import UNKNOWN, decide, of_scope
from exchange.env import ConfigError, env_networks

TRUST_PROXY = override_settings(TRUSTED_PROXIES=["10.0.0.0/8", "2001:db8:ffff::/48"])
TRUSTED = ("10.0.0.0/8", "2001:db8:ffff::/48")


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        # An untrusted peer is the client, whatever it claims.
        ("198.51.100.1", "127.0.0.1", "198.51.100.1"),
        ("198.51.100.1", "192.0.2.1, 10.0.0.5", "198.51.100.1"),
        ("198.51.100.1", "junk", "198.51.100.1"),
        # A trusted proxy: the right-most address it and the proxies behind it did not add themselves.
        ("10.0.0.2", "203.0.113.7", "203.0.113.7"),
        ("10.0.0.2", "127.0.0.1, 203.0.113.7", "203.0.113.7"),  # what the client prepended is ignored
        ("10.0.0.2", "203.0.113.7, 10.1.1.1", "203.0.113.7"),  # a chain of trusted proxies
        ("10.0.0.2", " 203.0.113.7 ,10.1.1.1 ", "203.0.113.7"),
        ("10.0.0.2", "2001:db8::1", "2001:db8::1"),
        ("2001:db8:ffff::2", "::ffff:203.0.113.8", "203.0.113.8"),  # IPv4-mapped reads as IPv4
        # Nothing usable from the proxy: the nearest hop known for sure.
        ("10.0.0.2", "", "10.0.0.2"),
        ("10.0.0.2", "junk", "10.0.0.2"),
        ("10.0.0.2", "203.0.113.7, junk", "10.0.0.2"),  # nothing left of a bad entry is believed
        ("10.0.0.2", "203.0.113.7, junk, 10.1.1.1", "10.1.1.1"),
        ("10.0.0.2", "10.3.3.3, 10.1.1.1", "10.3.3.3"),  # only proxies: the farthest one
        # Always a valid address.
        ("", "203.0.113.7", UNKNOWN),
        (None, "", UNKNOWN),
        ("not-an-ip", "", UNKNOWN),
        ("::ffff:198.51.100.3", "", "198.51.100.3"),
        ("fe80::1%eth0", "", "fe80::1"),
    ],
)
def test_the_decision(peer: str | None, forwarded_for: str, expected: str) -> None:
    assert decide(peer=peer, forwarded_for=forwarded_for, trusted=TRUSTED) == expected


def test_trusted_proxies_are_parsed_strictly() -> None:
    assert env_networks("TRUSTED_PROXIES", [], environ={}) == []
    assert env_networks("TRUSTED_PROXIES", [], environ={"TRUSTED_PROXIES": " 172.30.0.0/24, ::1 "}) == [
        "172.30.0.0/24",
        "::1/128",
    ]
    for bad in ("172.30.0.1/24", "nginx", "10.0.0.0/33", "10.0.0.0/8;"):
        with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
            env_networks("TRUSTED_PROXIES", [], environ={"TRUSTED_PROXIES": bad})
    assert settings.TRUSTED_PROXIES == []  # nobody is trusted unless configured


def test_the_stream_decides_from_its_scope() -> None:
    headers = [(b"x-forwarded-for", b"127.0.0.1"), (b"x-forwarded-for", b"203.0.113.9")]
    with TRUST_PROXY:
        assert of_scope({"client": ["10.0.0.2", 5000], "headers": headers}) == "203.0.113.9"
        assert of_scope({"client": ["198.51.100.4", 5000], "headers": headers}) == "198.51.100.4"
        assert of_scope({"client": None, "headers": headers}) == UNKNOWN


def register(client: Any, n: int, **headers: str) -> Any:
    body = {"username": f"new{n}", "email": f"new{n}@example.com", "password": "a-strong-passphrase-42"}
    return client.post("/api/auth/register", body, format="json", **headers)


@pytest.mark.django_db
def test_a_new_forwarded_for_per_request_does_not_lift_the_register_limit() -> None:
    client = APIClient(REMOTE_ADDR="198.51.100.40")
    codes = [register(client, n, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(6)]
    assert codes == [201] * 5 + [429]


@pytest.mark.django_db
@TRUST_PROXY
def test_behind_a_trusted_proxy_each_client_has_its_own_limit() -> None:
    proxy = APIClient(REMOTE_ADDR="10.0.0.2")
    codes = [register(proxy, n, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(7)]
    assert codes == [201] * 7
    assert [register(proxy, n, HTTP_X_FORWARDED_FOR="203.0.113.99").status_code for n in range(7, 13)] == [201] * 5 + [
        429
    ]


@pytest.mark.django_db
@override_settings(LOGIN_FAILURES_PER_IP=3, LOGIN_FAILURES_PER_ACCOUNT_IP=1000)
def test_a_new_forwarded_for_per_request_does_not_lift_the_login_failure_limit() -> None:
    UserFactory(username="carol")
    client = APIClient(REMOTE_ADDR="198.51.100.41")
    body = {"username": "carol", "password": "wrong"}
    codes = [
        client.post("/api/auth/login", body, format="json", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(4)
    ]
    assert codes == [401, 401, 401, 429]


@pytest.mark.django_db
@override_settings(DDOS_GUARD=True, DDOS_WINDOW_SECONDS=5, DDOS_BURST_REQUESTS=3, DDOS_BAN_SECONDS=5)
def test_claiming_loopback_or_someone_else_does_not_fool_the_ddos_guard() -> None:
    attacker = Client(REMOTE_ADDR="203.0.113.66", HTTP_X_FORWARDED_FOR="127.0.0.1")
    framed = Client(REMOTE_ADDR="203.0.113.67", HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert [attacker.get("/api/market/pairs").status_code for _ in range(4)] == [200, 200, 200, 429]
    framing = Client(REMOTE_ADDR="203.0.113.68", HTTP_X_FORWARDED_FOR="203.0.113.67")
    assert [framing.get("/api/market/pairs").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert framed.get("/api/market/pairs").status_code == 200  # the framed address is not banned


@pytest.mark.django_db
def test_the_audit_log_records_the_peer_not_the_claim() -> None:
    user = UserFactory(username="erin")
    client = APIClient(REMOTE_ADDR="198.51.100.42", HTTP_X_FORWARDED_FOR="192.0.2.1")
    client.post("/api/auth/login", {"username": "erin", "password": "nope"}, format="json")
    client.post("/api/auth/login", {"username": "erin", "password": PASSWORD}, format="json", HTTP_X_FORWARDED_FOR="x")
    ips = list(AuditEvent.objects.filter(user=user).order_by("pk").values_list("action", "ip"))
    assert ips == [(AuditAction.LOGIN_FAILED, "198.51.100.42"), (AuditAction.LOGIN_SUCCEEDED, "198.51.100.42")]


@pytest.mark.django_db
@TRUST_PROXY
def test_the_audit_log_records_the_client_behind_a_trusted_proxy() -> None:
    user = UserFactory(username="erin")
    proxy = APIClient(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.43")
    assert proxy.post("/api/auth/login", {"username": "erin", "password": PASSWORD}, format="json").status_code == 200
    assert AuditEvent.objects.get(user=user).ip == "198.51.100.43"
