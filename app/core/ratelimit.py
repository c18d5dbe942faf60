"""Shared rate limiter: a sliding-window counter in Redis when configured, so every API
process draws on one budget; in memory otherwise, and in memory as a logged fallback if Redis
fails.

The window is the classic approximation: the count of the current fixed window plus the
previous window's count weighted by how much of it still overlaps the sliding window. A hit is
one Redis round trip (a Lua script reads both counters, increments the current one only when
the request is allowed, and returns the counts), made with the asyncio client so a request
waiting on Redis never blocks the others.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import redis
from starlette.requests import HTTPConnection

from app.core.config import Settings, get_settings
from app.core.redis import get_async_redis

logger = logging.getLogger("app.ratelimit")

# KEYS: current window counter, previous window counter and, for a request carrying an
# access token, that token's revocation key (checked here to save the request a round trip).
# ARGV: limit, period in ms, ms elapsed in the current window.
# Returns {allowed (0/1), current count, previous count, token revoked (0/1)}.
_HIT_SCRIPT = """
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local elapsed = tonumber(ARGV[3])
local revoked = 0
if #KEYS > 2 then
  revoked = redis.call('EXISTS', KEYS[3])
end
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if previous * (period - elapsed) / period + current > limit - 1 then
  return {0, current, previous, revoked}
end
current = redis.call('INCR', KEYS[1])
if current == 1 then
  redis.call('PEXPIRE', KEYS[1], period * 2)
end
return {1, current, previous, revoked}
"""


@dataclass(frozen=True)
class Rule:
    name: str
    prefix: str
    limit: int
    period_seconds: int


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int
    # Seconds until the next request would fit (what a refused client is told to wait).
    retry_after: int
    # Whether the presented access token is revoked, when Redis answered that too.
    token_revoked: bool | None = None


def build_rules(settings: Settings) -> list[Rule]:
    api = settings.API_V1_PREFIX
    login = settings.LOGIN_RATE_LIMIT_REQUESTS_PER_MINUTE
    return [
        Rule("login", f"{api}/auth/login", login, 60),
        Rule("login", f"{api}/auth/token", login, 60),
        Rule("login", f"{api}/auth/forgot-password", login, 60),
        Rule("auth", f"{api}/auth", settings.AUTH_RATE_LIMIT_REQUESTS_PER_MINUTE, 60),
        Rule("uploads", f"{api}/files/upload", settings.UPLOAD_RATE_LIMIT_REQUESTS_PER_HOUR, 3600),
        Rule(
            "certificate_verify",
            f"{api}/certificates/verify",
            settings.CERTIFICATE_VERIFY_RATE_LIMIT_PER_MINUTE,
            60,
        ),
        Rule(
            "general",
            "/",
            settings.RATE_LIMIT_REQUESTS_PER_MINUTE,
            settings.RATE_LIMIT_WINDOW_SECONDS,
        ),
    ]


def _weighted(previous: int, current: int, period_ms: int, elapsed_ms: int) -> float:
    return previous * (period_ms - elapsed_ms) / period_ms + current


def _decide(
    rule: Rule,
    allowed: bool,
    current: int,
    previous: int,
    now_ms: int,
    elapsed_ms: int,
    token_revoked: bool | None = None,
) -> Decision:
    """Headers for a hit: what is left of the budget and when it next frees up.

    A request fits while the weighted count (the previous window's count scaled by how much of
    it the sliding window still covers, plus the current count) stays at most limit - 1.
    """
    period = rule.period_seconds * 1000
    used = _weighted(previous, current, period, elapsed_ms)
    free = rule.limit - 1  # the most the weighted count may be for one more request to fit
    if allowed:
        # Fully replenished once the current window has slid past.
        wait_ms = 2 * period - elapsed_ms
    elif current > free:
        # The next window starts with `current` as its previous count, which then decays.
        wait_ms = (period - elapsed_ms) + period - period * free // current + 1
    else:
        # The previous window's weight must decay until one more request fits.
        needed = period - period * (free - current) // max(previous, 1)
        wait_ms = max(needed - elapsed_ms, 1)
    return Decision(
        allowed=allowed,
        limit=rule.limit,
        remaining=max(0, math.floor(rule.limit - used)),
        reset_at=-(-(now_ms + wait_ms) // 1000),
        retry_after=max(1, -(-wait_ms // 1000)),
        token_revoked=token_revoked,
    )


class _MemoryCounters:
    """The same sliding-window counter for one process."""

    _MAX_KEYS = 100_000

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}  # window key -> (count, expires at ms)
        self._lock = threading.Lock()

    def hit(
        self, rule: Rule, key: str, window: int, now_ms: int, elapsed_ms: int
    ) -> tuple[bool, int, int]:
        period = rule.period_seconds * 1000
        current_key = f"{key}:{window}"
        with self._lock:
            current = self._counts.get(current_key, (0, 0))[0]
            previous = self._counts.get(f"{key}:{window - 1}", (0, 0))[0]
            if _weighted(previous, current, period, elapsed_ms) > rule.limit - 1:
                return False, current, previous
            if len(self._counts) >= self._MAX_KEYS:
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now_ms}
            self._counts[current_key] = (current + 1, now_ms - elapsed_ms + 2 * period)
            return True, current + 1, previous


class RateLimiter:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.rules = build_rules(settings)
        self.use_redis = bool(settings.REDIS_URL and settings.RATE_LIMIT_USE_REDIS)
        self._memory = _MemoryCounters()

    def rule_for(self, path: str) -> Rule | None:
        if self.is_excluded(path):
            return None
        for rule in self.rules:
            if (
                path == rule.prefix
                or path.startswith(rule.prefix.rstrip("/") + "/")
                or (rule.prefix == "/")
            ):
                return rule
        return None

    def is_excluded(self, path: str) -> bool:
        for excluded in self.settings.RATE_LIMIT_EXCLUDED_PATHS:
            if path == excluded or (
                excluded != "/" and path.startswith(excluded.rstrip("/") + "/")
            ):
                return True
        return False

    async def hit(self, rule: Rule, client: str, revocation_key: str | None = None) -> Decision:
        """Count one request of `client` under `rule`; with Redis, also answer whether the
        access token behind `revocation_key` is revoked."""
        now_ms = int(self.clock() * 1000)
        period = rule.period_seconds * 1000
        window, elapsed_ms = divmod(now_ms, period)
        key = f"{self.settings.RATE_LIMIT_REDIS_PREFIX}:{rule.name}:{client}"
        client_redis = get_async_redis() if self.use_redis else None
        if client_redis is not None:
            try:
                keys = [f"{key}:{window}", f"{key}:{window - 1}"]
                if revocation_key:
                    keys.append(revocation_key)
                allowed, current, previous, revoked = await client_redis.eval(
                    _HIT_SCRIPT, len(keys), *keys, rule.limit, period, elapsed_ms
                )
                return _decide(
                    rule,
                    bool(allowed),
                    current,
                    previous,
                    now_ms,
                    elapsed_ms,
                    bool(revoked) if revocation_key else None,
                )
            except (redis.RedisError, OSError):
                logger.warning(
                    "Redis rate limiter failed; using the in-memory limiter", exc_info=True
                )
        allowed, current, previous = self._memory.hit(rule, key, window, now_ms, elapsed_ms)
        return _decide(rule, allowed, current, previous, now_ms, elapsed_ms)


@lru_cache
def get_rate_limiter() -> RateLimiter:
    return RateLimiter(get_settings())


def _is_trusted_proxy(host: str, trusted: list[str]) -> bool:
    if "*" in trusted:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host in trusted
    for entry in trusted:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_ip(connection: HTTPConnection) -> str:
    """The peer address, or the X-Forwarded-For client when the peer is a trusted proxy.

    Walks X-Forwarded-For from the right, skipping trusted proxies, so a client cannot pick
    its own address by prepending entries.
    """
    peer = connection.client.host if connection.client else "unknown"
    trusted = get_settings().FORWARDED_ALLOW_IPS
    if not trusted or not _is_trusted_proxy(peer, trusted):
        return peer
    forwarded = connection.headers.get("x-forwarded-for", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted_proxy(hop, trusted):
            return hop
    return hops[0] if hops else peer
