"""Sign-in throttling with the shipped defaults: hundreds of accounts sign in from one
address, guessing one account from many addresses still locks it, and one address trying a
password against many accounts is slowed down."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.core.database import session_scope
from app.core.security import hash_password
from app.main import create_app
from app.modules.users.models import User
from tests.factories import DEFAULT_PASSWORD
from tests.modules.auth.helpers import API, login

WRONG = "Wrong-password-1"
SCHOOL = {"X-Forwarded-For": "198.51.100.20"}


def _defaults(env: Any) -> TestClient:
    """The shipped limits (the suite raises them elsewhere), with the test client as a
    trusted proxy so X-Forwarded-For is the client's address. Counted in Redis on the
    services pass, in memory on the embedded one."""
    env(
        LOGIN_FAILURES_PER_IP_PER_MINUTE=None,
        AUTH_RATE_LIMIT_REQUESTS_PER_MINUTE=None,
        RATE_LIMIT_REQUESTS_PER_MINUTE=None,
        FORWARDED_ALLOW_IPS="testclient",
    )
    return TestClient(create_app())


def _pupils(count: int) -> list[str]:
    """`count` accounts sharing one password hash (hashing each would dominate the test)."""
    password_hash = hash_password(DEFAULT_PASSWORD)
    emails = [f"pupil{n}@school.example.com" for n in range(count)]
    with session_scope() as db:
        db.add_all(
            User(email=email, password_hash=password_hash, full_name=email, role="student")
            for email in emails
        )
    return emails


def test_three_hundred_accounts_sign_in_from_one_address(env: Any) -> None:
    emails = _pupils(300)
    with _defaults(env) as client:
        # A few typos along the way count as failures, well under the address's ceiling.
        for email in emails[:20]:
            assert login(client, email, WRONG, headers=SCHOOL).status_code == 401
        codes = [login(client, email, headers=SCHOOL).status_code for email in emails]
        assert codes == [200] * 300
        # The same through the OAuth2 password flow.
        form = client.post(
            f"{API}/auth/token",
            data={"username": emails[0], "password": DEFAULT_PASSWORD},
            headers=SCHOOL,
        )
        assert form.status_code == 200


def test_thirty_wrong_passwords_from_many_addresses_lock_the_account(
    env: Any, student: Any
) -> None:
    with _defaults(env) as client:
        codes = [
            login(
                client, "student@example.com", WRONG, headers={"X-Forwarded-For": f"192.0.2.{n}"}
            ).status_code
            for n in range(30)
        ]
        # The account-wide counter (4 x MAX_FAILED_LOGIN_ATTEMPTS) locks it; never an address.
        assert codes[:20] == [401] * 20
        assert set(codes[20:]) == {423}
        fresh = login(client, "student@example.com", headers={"X-Forwarded-For": "192.0.2.250"})
        assert fresh.status_code == 423
        assert int(fresh.headers["Retry-After"]) > 0


def test_password_spraying_from_one_address_is_slowed_down(env: Any, student: Any) -> None:
    emails = _pupils(100)
    with _defaults(env) as client:
        responses = [login(client, email, WRONG, headers=SCHOOL) for email in emails]
        codes = [r.status_code for r in responses]
        # LOGIN_FAILURES_PER_IP_PER_MINUTE (50) failures, then the address waits.
        assert codes[:50] == [401] * 50
        assert set(codes[50:]) == {429}
        refused = responses[-1]
        assert refused.headers["content-type"].startswith("application/problem+json")
        body = refused.json()
        assert body["status"] == 429 and body["code"] == "login_failures_rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        # No account was locked by it, and another address signs in as usual.
        assert (
            login(client, emails[-1], headers={"X-Forwarded-For": "203.0.113.77"}).status_code
            == 200
        )
        assert login(client, "student@example.com", headers=SCHOOL).status_code == 429
