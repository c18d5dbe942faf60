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


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _limiter(env: Any, store: str, clock: _Clock, *, limit: int, period: int) -> Any:
    from app.core.config import get_settings
    from app.core.ratelimit import RateLimiter

    env(
        RATE_LIMIT_WINDOW_SECONDS=str(period),
        RATE_LIMIT_REQUESTS_PER_MINUTE=str(limit),
        RATE_LIMIT_USE_REDIS=str(store == "redis"),
    )
    limiter = RateLimiter(get_settings(), clock=clock)
    assert limiter.use_redis == (store == "redis")
    return limiter


STORES = ["memory", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.mark.parametrize("store", STORES)
def test_the_window_slides_and_retry_after_says_when_a_request_fits(env: Any, store: str) -> None:
    """Two fixed windows weighted: a refusal says how long to wait, a request just before
    that time is still refused and one at that time fits."""
    import asyncio

    # 10 s windows, starting on a window boundary (1,000,000 is a multiple of 10).
    clock = _Clock(1_000_000.0)
    limiter = _limiter(env, store, clock, limit=3, period=10)
    rule = limiter.rule_for("/api/v1/anything")
    assert rule is not None and rule.period_seconds == 10

    async def hit(at: float) -> Any:
        clock.now = at
        return await limiter.hit(rule, "ip:203.0.113.5")

    async def scenario() -> list[Any]:
        first = [await hit(1_000_001.0) for _ in range(4)]
        # Window [1,000,000, 1,000,010) holds 3. In the next window the weighted count is
        # 3 * (10 - t) / 10: room for one more (<= 2) once t >= 10/3 s, i.e. at 1,000,013.334.
        return [
            *first,
            await hit(1_000_013.0),
            await hit(1_000_013.4),
            await hit(1_000_013.5),
        ]

    decisions = asyncio.run(scenario())
    assert [d.allowed for d in decisions] == [True, True, True, False, False, True, False]
    assert [d.remaining for d in decisions[:4]] == [2, 1, 0, 0]
    # Refused at 1,000,001: 9 s to the window's end plus 3.33 s of decay, rounded up.
    assert decisions[3].retry_after == 13
    assert decisions[3].reset_at == 1_000_010
    # Refused at 1,000,013 (weighted 2.1): 0.33 s of decay, rounded up to a whole second.
    assert decisions[4].retry_after == 1
    # At 1,000,013.4 the weighted count was 1.98: counted, nothing left.
    assert decisions[5].remaining == 0 and decisions[5].reset_at == 1_000_020


@pytest.mark.parametrize("store", STORES)
def test_the_previous_window_counts_by_the_share_still_inside(env: Any, store: str) -> None:
    import asyncio

    clock = _Clock(2_000_000.0)
    limiter = _limiter(env, store, clock, limit=10, period=10)
    rule = limiter.rule_for("/api/v1/anything")
    assert rule is not None

    async def scenario() -> list[Any]:
        decisions = []
        for at in [2_000_009.0] * 8 + [2_000_015.0, 2_000_015.0, 2_000_015.0]:
            clock.now = at
            decisions.append(await limiter.hit(rule, "user:x"))
        # A window later the first eight no longer count at all.
        clock.now = 2_000_025.0
        decisions.append(await limiter.hit(rule, "user:x"))
        return decisions

    decisions = asyncio.run(scenario())
    # At 2,000,015 half of the previous window's 8 still counts: 4 + 1, 4 + 2, 4 + 3.
    assert [d.remaining for d in decisions[8:11]] == [5, 4, 3]
    # At 2,000,025 the previous window holds the 3 of 2,000,015, half of which count.
    assert decisions[11].allowed and decisions[11].remaining == 7
    assert all(d.limit == 10 for d in decisions)


@pytest.mark.redis
def test_one_script_call_per_request_on_redis(env: Any) -> None:
    """The Redis counter answers in one round trip: one EVALSHA per counted request."""
    from app.core.redis import get_redis

    env(RATE_LIMIT_REQUESTS_PER_MINUTE="50")
    client = TestClient(create_app())
    redis_client = get_redis()
    assert redis_client is not None
    client.get("/api/v1/nothing-here")  # loads the script

    def evalsha_calls() -> int:
        return int(redis_client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0))

    before = evalsha_calls()
    remaining = [
        client.get("/api/v1/nothing-here").headers["x-ratelimit-remaining"] for _ in range(5)
    ]
    # The server is shared: at least these five calls.
    assert evalsha_calls() - before >= 5
    assert remaining == ["48", "47", "46", "45", "44"]
