"""Cookie mode: tokens in HttpOnly cookies, CSRF double-submit on unsafe methods, bearer
tokens still accepted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.dependencies import ACCESS_COOKIE, CSRF_COOKIE, CSRF_HEADER, REFRESH_COOKIE
from tests.modules.auth.helpers import API, bearer, login


@pytest.fixture
def cookie_client(env: Any) -> Iterator[TestClient]:
    from app.main import create_app

    env(AUTH_COOKIE_MODE="true")
    with TestClient(create_app()) as client:
        yield client


def _set_cookie_headers(response: Any) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


def test_login_sets_http_only_cookies_instead_of_body_tokens(
    cookie_client: TestClient, student: Any
) -> None:
    response = login(cookie_client, "student@example.com")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["access_token"] is None and body["refresh_token"] is None
    assert body["csrf_token"]
    cookies = _set_cookie_headers(response)
    assert "HttpOnly" in cookies[ACCESS_COOKIE]
    assert "HttpOnly" in cookies[REFRESH_COOKIE]
    assert "Path=/api/v1/auth" in cookies[REFRESH_COOKIE]
    assert "HttpOnly" not in cookies[CSRF_COOKIE]  # the page's script must read it
    assert "SameSite=lax" in cookies[ACCESS_COOKIE]
    assert "Secure" not in cookies[ACCESS_COOKIE]  # only in production by default
    assert cookie_client.get(f"{API}/auth/me").status_code == 200  # safe method: no CSRF


def test_secure_flag_follows_the_setting(env: Any, student: Any) -> None:
    from app.main import create_app

    env(AUTH_COOKIE_MODE="true", AUTH_COOKIE_SECURE="true", AUTH_COOKIE_SAMESITE="strict")
    with TestClient(create_app(), base_url="https://testserver") as client:
        cookies = _set_cookie_headers(login(client, "student@example.com"))
    assert "Secure" in cookies[ACCESS_COOKIE]
    assert "SameSite=strict" in cookies[ACCESS_COOKIE]


def test_unsafe_method_with_cookie_needs_the_csrf_header(
    cookie_client: TestClient, student: Any
) -> None:
    csrf = login(cookie_client, "student@example.com").json()["csrf_token"]
    payload = {"bio": "hello"}
    missing = cookie_client.patch(f"{API}/users/me", json=payload)
    assert missing.status_code == 403
    assert missing.json()["code"] == "csrf_failed"
    wrong = cookie_client.patch(f"{API}/users/me", json=payload, headers={CSRF_HEADER: "forged"})
    assert wrong.status_code == 403
    ok = cookie_client.patch(f"{API}/users/me", json=payload, headers={CSRF_HEADER: csrf})
    assert ok.status_code == 200, ok.text
    assert ok.json()["bio"] == "hello"


def test_refresh_from_cookie_needs_csrf_and_rotates(
    cookie_client: TestClient, student: Any
) -> None:
    csrf = login(cookie_client, "student@example.com").json()["csrf_token"]
    old_refresh = cookie_client.cookies.get(REFRESH_COOKIE)
    missing = cookie_client.post(f"{API}/auth/refresh")
    assert missing.status_code == 403
    response = cookie_client.post(f"{API}/auth/refresh", headers={CSRF_HEADER: csrf})
    assert response.status_code == 200, response.text
    assert response.json()["refresh_token"] is None
    assert cookie_client.cookies.get(REFRESH_COOKIE) != old_refresh
    new_csrf = response.json()["csrf_token"]
    assert cookie_client.get(f"{API}/auth/me").status_code == 200
    # The rotated-out cookie value is now a consumed token.
    reuse = cookie_client.post(
        f"{API}/auth/refresh", json={"refresh_token": old_refresh}, headers={CSRF_HEADER: new_csrf}
    )
    assert reuse.status_code == 401


def test_logout_clears_cookies_and_revokes(cookie_client: TestClient, student: Any) -> None:
    csrf = login(cookie_client, "student@example.com").json()["csrf_token"]
    access = cookie_client.cookies.get(ACCESS_COOKIE)
    refresh = cookie_client.cookies.get(REFRESH_COOKIE)
    assert cookie_client.post(f"{API}/auth/logout").status_code == 403  # no CSRF header
    response = cookie_client.post(f"{API}/auth/logout", headers={CSRF_HEADER: csrf})
    assert response.status_code == 204, response.text
    cleared = _set_cookie_headers(response)
    assert all('=""' in cleared[name] or "Max-Age=0" in cleared[name] for name in cleared)
    assert cookie_client.get(f"{API}/auth/me", headers=bearer(str(access))).status_code == 401
    again = cookie_client.post(f"{API}/auth/refresh", json={"refresh_token": refresh})
    assert again.status_code == 401


def test_bearer_tokens_still_work_without_csrf(cookie_client: TestClient, student: Any) -> None:
    token = cookie_client.post(
        f"{API}/auth/token", data={"username": "student@example.com", "password": "Correct-Horse-9"}
    ).json()["access_token"]
    assert token
    fresh = TestClient(cookie_client.app)
    response = fresh.patch(f"{API}/users/me", json={"bio": "api"}, headers=bearer(token))
    assert response.status_code == 200
