"""Rate limiting: 429 with headers, per-path rules, per-client keys, trusted proxies, and a
budget shared by two app instances through Redis."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app


def _client(env: Any, **settings: Any) -> TestClient:
    env(**settings)
    return TestClient(create_app())


def test_general_limit_answers_429_with_headers(env: Any) -> None:
    client = _client(env, RATE_LIMIT_REQUESTS_PER_MINUTE="3")
    seen = [client.get("/api/v1/nothing-here") for _ in range(3)]
    assert [r.headers["x-ratelimit-remaining"] for r in seen] == ["2", "1", "0"]
    assert all(r.headers["x-ratelimit-limit"] == "3" for r in seen)
    limited = client.get("/api/v1/nothing-here")
    assert limited.status_code == 429
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert limited.json()["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert int(limited.headers["x-ratelimit-reset"]) > 0


def test_excluded_paths_are_never_limited(env: Any) -> None:
    client = _client(env, RATE_LIMIT_REQUESTS_PER_MINUTE="1")
    for _ in range(5):
        response = client.get("/api/v1/health")
        assert response.status_code == 200
        assert "x-ratelimit-limit" not in response.headers


def test_sign_in_routes_are_not_counted_per_address(env: Any) -> None:
    """Sign-ins are throttled per account and by failures (app.core.lockout), not by the
    address's request budget that a whole school shares."""
    client = _client(
        env, AUTH_RATE_LIMIT_REQUESTS_PER_MINUTE="2", RATE_LIMIT_REQUESTS_PER_MINUTE="2"
    )
    for path in ("/api/v1/auth/login", "/api/v1/auth/token", "/api/v1/auth/login/mfa"):
        responses = [client.post(path, json={}) for _ in range(4)]
        assert [r.status_code for r in responses] == [422] * 4, path
        assert all("x-ratelimit-limit" not in r.headers for r in responses)
    # Other auth routes keep their per-address budget.
    codes = [client.post("/api/v1/auth/forgot-password", json={}).status_code for _ in range(3)]
    assert codes == [422, 422, 429]


def test_clients_are_keyed_by_user_not_shared_ip(
    env: Any, make_user: Any, auth_headers: Any
) -> None:
    client = _client(env, RATE_LIMIT_REQUESTS_PER_MINUTE="2")
    alice, bob = make_user(), make_user()
    for _ in range(2):
        client.get("/api/v1/nothing-here", headers=auth_headers(alice))
    assert client.get("/api/v1/nothing-here", headers=auth_headers(alice)).status_code == 429
    # Same IP, different user: an own budget.
    assert client.get("/api/v1/nothing-here", headers=auth_headers(bob)).status_code == 404


def test_forwarded_for_ignored_unless_proxy_is_trusted(env: Any) -> None:
    client = _client(env, RATE_LIMIT_REQUESTS_PER_MINUTE="1")
    client.get("/api/v1/x", headers={"X-Forwarded-For": "203.0.113.1"})
    # A spoofed header does not buy a fresh budget when the peer is not a trusted proxy.
    spoofed = client.get("/api/v1/x", headers={"X-Forwarded-For": "203.0.113.99"})
    assert spoofed.status_code == 429


def test_forwarded_for_used_behind_a_trusted_proxy(env: Any) -> None:
    client = _client(env, RATE_LIMIT_REQUESTS_PER_MINUTE="1", FORWARDED_ALLOW_IPS="testclient")
    assert client.get("/api/v1/x", headers={"X-Forwarded-For": "203.0.113.1"}).status_code == 404
    assert client.get("/api/v1/x", headers={"X-Forwarded-For": "203.0.113.2"}).status_code == 404
    assert client.get("/api/v1/x", headers={"X-Forwarded-For": "203.0.113.1"}).status_code == 429
    # Entries a client prepends are skipped: the rightmost untrusted hop is the client.
    forged = client.get("/api/v1/x", headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.1"})
    assert forged.status_code == 429


@pytest.mark.redis
def test_two_instances_share_one_budget_through_redis(env: Any) -> None:
    env(RATE_LIMIT_REQUESTS_PER_MINUTE="4")
    first, second = TestClient(create_app()), TestClient(create_app())
    # Each instance has its own limiter object: only Redis can make them agree.
    from app.core.config import get_settings
    from app.core.ratelimit import RateLimiter

    assert RateLimiter(get_settings()).use_redis
    codes = [
        (first if index % 2 == 0 else second).get("/api/v1/nothing-here").status_code
        for index in range(5)
    ]
    assert codes == [404, 404, 404, 404, 429]


def test_redis_failure_falls_back_to_memory(env: Any) -> None:
    client = _client(env, REDIS_URL="redis://127.0.0.1:1/0", RATE_LIMIT_REQUESTS_PER_MINUTE="2")
    codes = [client.get("/api/v1/nothing-here").status_code for _ in range(3)]
    assert codes == [404, 404, 429]


def test_cookie_authenticated_clients_are_keyed_by_user(
    env: Any, make_user: Any, auth_headers: Any
) -> None:
    from app.core.dependencies import ACCESS_COOKIE

    client = _client(env, RATE_LIMIT_REQUESTS_PER_MINUTE="1")
    alice, bob = make_user(), make_user()
    token_of = {user.id: auth_headers(user)["Authorization"][7:] for user in (alice, bob)}
    client.cookies.set(ACCESS_COOKIE, token_of[alice.id])
    assert client.get("/api/v1/nothing-here").status_code == 404
    assert client.get("/api/v1/nothing-here").status_code == 429
    client.cookies.set(ACCESS_COOKIE, token_of[bob.id])
    assert client.get("/api/v1/nothing-here").status_code == 404


@pytest.mark.parametrize("store", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
def test_the_window_slides_and_retry_after_says_when_a_request_fits(env: Any, store: str) -> None:
    """The sliding-window counter of `limits`: a refusal says how long to wait, and a
    request fits again once that time has passed."""
    import asyncio

    from app.core.config import get_settings
    from app.core.ratelimit import RateLimiter

    env(
        RATE_LIMIT_WINDOW_SECONDS="2",
        RATE_LIMIT_REQUESTS_PER_MINUTE="3",
        RATE_LIMIT_USE_REDIS=str(store == "redis"),
    )
    limiter = RateLimiter(get_settings())
    assert limiter.use_redis == (store == "redis")
    rule = limiter.rule_for("/api/v1/anything")
    assert rule is not None and rule.period_seconds == 2

    async def hits() -> list[Any]:
        first = [await limiter.hit(rule, "ip:203.0.113.5") for _ in range(4)]
        await asyncio.sleep(first[-1].retry_after + 0.05)
        return [*first, await limiter.hit(rule, "ip:203.0.113.5")]

    decisions = asyncio.run(hits())
    assert [d.allowed for d in decisions] == [True, True, True, False, True]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    assert 1 <= decisions[3].retry_after <= 2
    if store == "redis":
        from app.core.redis import get_redis

        redis_client = get_redis()
        assert redis_client is not None
        assert any(redis_client.scan_iter(match=f"{get_settings().RATE_LIMIT_REDIS_PREFIX}*"))
