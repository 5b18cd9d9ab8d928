"""The attacks of issue 13 (points 1-4 and 7), end to end: real HTTP requests to daphne started in a child
process exactly as the Procfile starts it (exchange/tests/live.py), on the test database.

Requests come either straight from 127.0.0.1 (a client on the internet) or from 127.0.0.2, which the
server trusts as its proxy (TRUSTED_PROXIES), the way nginx reaches daphne in docker-compose.yml."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from accounts.models import AuditAction, AuditEvent
from accounts.tests.factories import PASSWORD, UserFactory
from apikeys import services as apikeys
from conftest import totp_code
from exchange.tests.live import live_passwords, live_processes

pytestmark = pytest.mark.django_db(transaction=True)

DIRECT, PROXY = "127.0.0.1", "127.0.0.2"
# Small limits, so that each attack takes a handful of requests.
LIMITS = {
    "TRUSTED_PROXIES": f"{PROXY}/32",
    "LOGIN_FAILURES_PER_ACCOUNT_IP": "3",
    "LOGIN_FAILURES_PER_ACCOUNT": "5",
    "LOGIN_FAILURES_PER_IP": "10",
    "LOGIN_SLOW_SECONDS": "30",
    "RATE_LIMIT_REGISTER": "5/m",
}


@pytest.fixture(scope="module")
def server(django_db_setup: Any, django_db_blocker: Any) -> Iterator[int]:
    """The Procfile's web process on the test database, with the limits above; its port."""
    with django_db_blocker.unblock(), live_processes("web", extra_env=LIMITS) as live:
        yield live.port


@pytest.fixture(autouse=True)
def _passwords_the_server_knows(settings: Any) -> None:
    live_passwords(settings)


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.raw = status, headers, body
        self.json: dict[str, Any] = json.loads(body) if body.startswith(b"{") else {}

    @property
    def code(self) -> tuple[int, str]:
        return self.status, self.json.get("error", {}).get("code", "ok")


def call(port: int, method: str, path: str, body: Any = None, *, source: str = DIRECT, **headers: str) -> Answer:
    """One HTTP request from `source` (a local address the connection is made from)."""
    connection = http.client.HTTPConnection(DIRECT, port, timeout=10, source_address=(source, 0))
    data = json.dumps(body).encode() if body is not None else b""
    try:
        connection.request(method, path, data, {"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        return Answer(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()


def login(port: int, username: str, password: str, otp: str | None = None, **kwargs: Any) -> Answer:
    body = {"username": username, "password": password} | ({"otp": otp} if otp else {})
    return call(port, "POST", "/api/auth/login", body, **kwargs)


def register(port: int, n: int, **kwargs: Any) -> int:
    body = {"username": f"sybil{n}", "email": f"sybil{n}@example.com", "password": "a-strong-passphrase-42"}
    return call(port, "POST", "/api/auth/register", body, **kwargs).status


def test_a_new_forwarded_for_per_request_does_not_lift_the_register_limit(server: int) -> None:
    spoofed = [register(server, n, **{"X-Forwarded-For": f"198.51.100.{n}"}) for n in range(7)]
    assert spoofed == [201] * 5 + [429] * 2
    # Behind the trusted proxy, the address it forwards is the client's: each has its own limit.
    proxied = [register(server, n, source=PROXY, **{"X-Forwarded-For": f"198.51.100.{n}"}) for n in range(10, 17)]
    assert proxied == [201] * 7


def test_an_api_key_whitelist_is_not_passed_by_claiming_the_address(server: int) -> None:
    owner = UserFactory(username="quant")
    new = apikeys.create_key(user=owner, label="bot", scopes=["read"], ip_whitelist=["192.0.2.1"])

    def balances(**kwargs: Any) -> Answer:
        timestamp = str(int(time.time() * 1000))
        sig = hmac.new(new.secret.encode(), f"{timestamp}GET/api/wallet/balances".encode(), hashlib.sha256)
        auth = {"X-API-KEY": new.key, "X-API-TIMESTAMP": timestamp, "X-API-SIGNATURE": sig.hexdigest()}
        return call(server, "GET", "/api/wallet/balances", **auth, **kwargs)

    assert balances(**{"X-Forwarded-For": "192.0.2.1"}).code == (403, "ip_not_allowed")
    assert balances(source=PROXY, **{"X-Forwarded-For": "192.0.2.1"}).status == 200


def test_junk_forwarded_for_on_failed_logins_is_counted_and_tells_nothing(server: int) -> None:
    victim = UserFactory(username="target")
    junk = {"X-Forwarded-For": "junk"}
    plain = login(server, "target", "wrong-1", source=PROXY, **{"X-Forwarded-For": "198.51.100.200"})
    attempts = [login(server, "target", "wrong-1", **junk) for _ in range(4)]
    assert [a.code for a in attempts] == [(401, "invalid_credentials")] * 3 + [(429, "login_throttled")]
    assert attempts[0].raw == plain.raw  # the same answer as without the header
    counted = AuditEvent.objects.filter(user=victim, action=AuditAction.LOGIN_FAILED, ip=DIRECT)
    assert counted.count() == 3
    assert login(server, "target", PASSWORD, **junk).code == (429, "login_throttled")  # counted: refused


def test_a_third_party_cannot_lock_the_victim_out(server: int, two_factor_user: Any) -> None:
    victim = two_factor_user
    victim.is_staff = True
    victim.save(update_fields=["is_staff"])
    # A botnet behind the proxy, one wrong password per address, well past the account's threshold
    for n in range(8):
        answer = login(server, victim.username, "guess", source=PROXY, **{"X-Forwarded-For": f"203.0.113.{n}"})
        assert answer.code == (401, "invalid_credentials")
    # and one attacker spoofing a new address per try: held to the limit of its real address.
    spoofed = [login(server, victim.username, "guess", **{"X-Forwarded-For": f"203.0.114.{n}"}) for n in range(4)]
    assert [a.code for a in spoofed] == [(401, "invalid_credentials")] * 3 + [(429, "login_throttled")]
    assert AuditEvent.objects.filter(user=victim, action=AuditAction.LOGIN_FAILURES_ALERT).count() == 1
    # A guessed password gives nothing away, and the owner signs in with password and code.
    elsewhere = {"source": PROXY, "X-Forwarded-For": "198.51.100.201"}
    assert login(server, victim.username, PASSWORD, **elsewhere).code == (401, "invalid_credentials")
    owner = login(server, victim.username, PASSWORD, otp=totp_code(victim.totp_device, 1), **elsewhere)
    assert owner.code == (200, "ok")
    assert set(owner.json) == {"access", "refresh"}


def test_a_bot_without_origin_reads_the_book_and_signs_in_by_jwt_but_never_by_cookie(server: int) -> None:
    # Point 7: the real `websockets` client sends no Origin header, as ccxt.pro and every bot do.
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect
    from websockets.typing import Origin

    from trading.tests.factories import markets

    markets()
    user = UserFactory(username="bot-owner")
    tokens = login(server, "bot-owner", PASSWORD).json
    browser = requests.Session()  # the owner's browser, signed in on the page
    browser.get(f"http://{DIRECT}:{server}/login", timeout=10)
    form = {"username": "bot-owner", "password": PASSWORD, "csrfmiddlewaretoken": browser.cookies["csrftoken"]}
    browser.post(f"http://{DIRECT}:{server}/login", data=form, timeout=10)
    session = browser.cookies["sessionid"]
    url = f"ws://{DIRECT}:{server}/ws/stream"

    def send(ws: Any, message: dict[str, Any], *, until: set[str]) -> dict[str, Any]:
        """Send a message; return the first answer of one of these types (a book's snapshot may come first)."""
        ws.send(json.dumps(message))
        while (answer := dict(json.loads(ws.recv(timeout=10))))["type"] not in until:
            pass
        return answer

    # A public channel and a JWT work without Origin
    with connect(url, open_timeout=10) as ws:
        book = send(ws, {"op": "subscribe", "channels": ["book:BTC-USDT"]}, until={"book.snapshot", "error"})
        assert book["channel"] == "book:BTC-USDT", book
        signed_in = send(ws, {"op": "auth", "token": tokens["access"]}, until={"authenticated", "error"})
        assert signed_in == {"type": "authenticated", "user_id": user.pk}
    # A session cookie without Origin authenticates nothing
    with connect(url, open_timeout=10, additional_headers={"Cookie": f"sessionid={session}"}) as ws:
        answer = send(ws, {"op": "subscribe", "channels": ["user"]}, until={"subscribed", "error"})
        assert answer["type"] == "error", answer
    # A foreign browser Origin is refused; our own, with the cookie, signs the user in
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=10, origin=Origin("https://evil.example"))
    assert refused.value.response.status_code == 403
    own = Origin(f"http://{DIRECT}:{server}")
    with connect(url, open_timeout=10, origin=own, additional_headers={"Cookie": f"sessionid={session}"}) as ws:
        answer = send(ws, {"op": "subscribe", "channels": ["user"]}, until={"subscribed", "error"})
        assert answer == {"type": "subscribed", "channel": "user"}


def test_the_admin_password_alone_decides_no_kyc_and_downloads_no_passport(server: int) -> None:
    # Point 4: a compliance officer's password (phished, reused) without the second factor.
    from django.contrib.auth.models import Group
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts import services
    from kyc import services as kyc_services
    from kyc.models import Verification, VerificationStatus
    from kyc.tests.factories import DETAILS, image_bytes, staff_user, upload

    applicant = UserFactory(username="applicant")
    kyc_services.submit_details(user=applicant, **DETAILS)
    passport = kyc_services.upload_document(user=applicant, document_type="passport", upload=upload())
    kyc_services.upload_document(user=applicant, document_type="selfie", upload=upload("me.jpg", image_bytes("JPEG")))
    verification = kyc_services.submit_verification(user=applicant)
    officer = staff_user("Compliance", username="officer")
    officer.groups.add(Group.objects.get(name="Treasury"))  # and treasury: the cold-wallet endpoints too
    services.start_two_factor_setup(user=officer)
    device = TOTPDevice.objects.get(user=officer)
    services.confirm_two_factor(user=officer, code=totp_code(device))

    # A password-only login of a 2FA account yields no token; a staff account without 2FA gets one,
    # and that token, like a password-only session, opens no staff endpoint.
    assert login(server, "officer", PASSWORD).code == (401, "otp_required")
    TOTPDevice.objects.filter(user=officer).delete()
    bare = {"Authorization": f"Bearer {login(server, 'officer', PASSWORD).json['access']}"}
    for method, path in [
        ("GET", "/api/kyc/admin/pending"),
        ("POST", f"/api/kyc/admin/{verification.pk}/approve"),
        ("GET", "/api/admin/cold-transfers"),
        ("GET", f"/api/kyc/documents/{passport.pk}/file"),
    ]:
        assert call(server, method, path, {}, **bare).code == (403, "staff_2fa_required"), path
    browser = requests.Session()
    browser.get(f"http://{DIRECT}:{server}/login", timeout=10)
    form = {"username": "officer", "password": PASSWORD, "csrfmiddlewaretoken": browser.cookies["csrftoken"]}
    browser.post(f"http://{DIRECT}:{server}/login", data=form, timeout=10)
    document = browser.get(f"http://{DIRECT}:{server}/kyc/documents/{passport.pk}", timeout=10)
    assert document.status_code == 403
    assert not document.headers.get("Content-Type", "").startswith("image/")
    assert Verification.objects.get(pk=verification.pk).status == VerificationStatus.PENDING

    # With the code, the same officer decides.
    services.start_two_factor_setup(user=officer)
    device = TOTPDevice.objects.get(user=officer)
    services.confirm_two_factor(user=officer, code=totp_code(device))
    verified = {
        "Authorization": f"Bearer {login(server, 'officer', PASSWORD, otp=totp_code(device, 1)).json['access']}"
    }
    assert call(server, "POST", f"/api/kyc/admin/{verification.pk}/approve", {}, **verified).status == 200
