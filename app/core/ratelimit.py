"""Shared rate limiter: a sliding-window counter, on Redis when configured (so every API
process draws on one budget) and in process memory otherwise, or as a logged fallback while
Redis fails.

The counter is two fixed windows weighted: the count of the previous window, scaled by the
share of it that still lies inside the sliding window, plus the count of the current one. On
Redis, one script reads both counts, decides, increments and returns what the response headers
need, in one EVALSHA round trip (the `limits` library needs two per request, a `hit` and a
`get_window_stats`; see bench/README.md). The memory counter runs the same arithmetic.

The middleware counts every request of a client against its path's rule. Sign-in routes are
not counted there: a school behind one address would exhaust any per-address request budget.
`app.core.lockout` throttles them per account and counts failures per address instead.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import redis
from redis.commands.core import AsyncScript, Script
from starlette.requests import HTTPConnection

from app.core.config import Settings, get_settings
from app.core.redis import get_async_redis

logger = logging.getLogger("app.ratelimit")

# Credential routes throttled by `app.core.lockout` (per account, failures per address).
CREDENTIAL_PATHS = ("/auth/login", "/auth/login/mfa", "/auth/token")

Clock = Callable[[], float]


@dataclass(frozen=True)
class Window:
    """At most `limit` requests in any `period_seconds`, counted under `namespace`."""

    namespace: str
    limit: int
    period_seconds: int


@dataclass(frozen=True)
class Rule:
    name: str
    prefix: str
    limit: int
    period_seconds: int

    @property
    def window(self) -> Window:
        return Window(self.name, self.limit, self.period_seconds)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    # When the current fixed window ends (epoch seconds): from then on its count decays.
    reset_at: int
    # Seconds until the next request would fit (what a refused client is told to wait).
    retry_after: int


# The counter's arithmetic, in Python for the memory counter and in Lua below for Redis. Times
# are integer milliseconds. `cost` 1 counts a request when it fits; 0 only asks whether one
# would. Returns (allowed, count to store in the current window, remaining, reset_ms, wait_ms).
def _decide(
    limit: int, period_ms: int, now_ms: int, previous: int, current: int, cost: int
) -> tuple[bool, int, int, int, int]:
    start = now_ms - now_ms % period_ms
    elapsed = now_ms - start
    weighted = previous * (period_ms - elapsed) / period_ms + current
    allowed = weighted + 1 <= limit
    if allowed:
        current += cost
        weighted += cost
    remaining = max(0, math.floor(limit - weighted))
    return (
        allowed,
        current,
        remaining,
        start + period_ms,
        _wait_ms(limit, period_ms, elapsed, previous, current),
    )


def _wait_ms(limit: int, period_ms: int, elapsed: int, previous: int, current: int) -> int:
    """Milliseconds until the weighted count leaves room for one more request."""
    target = limit - 1
    if previous * (period_ms - elapsed) / period_ms + current <= target:
        return 0
    if current <= target:
        # The previous window's share decays within this window.
        return math.ceil(period_ms - (target - current) * period_ms / previous - elapsed)
    # This window alone is over: wait for it to become the previous one and decay.
    return math.ceil(period_ms - elapsed + period_ms - target * period_ms / current)


# KEYS[1], KEYS[2]: the current and previous windows' counters. ARGV: limit, period_ms,
# now_ms, cost. The same arithmetic as `_decide`; returns allowed (0/1), remaining, reset_ms,
# wait_ms.
_SCRIPT = """
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local counts = redis.call('MGET', KEYS[1], KEYS[2])
local current = tonumber(counts[1] or '0')
local previous = tonumber(counts[2] or '0')
local start = now - now % period
local elapsed = now - start
local weighted = previous * (period - elapsed) / period + current
local allowed = 0
if weighted + 1 <= limit then
  allowed = 1
  if cost > 0 then
    current = redis.call('INCRBY', KEYS[1], cost)
    if current == cost then
      redis.call('PEXPIRE', KEYS[1], 2 * period + 1000)
    end
    weighted = weighted + cost
  end
end
local remaining = math.max(0, math.floor(limit - weighted))
local target = limit - 1
local wait = 0
if previous * (period - elapsed) / period + current > target then
  if current <= target then
    wait = math.ceil(period - (target - current) * period / previous - elapsed)
  else
    wait = math.ceil(period - elapsed + period - target * period / current)
  end
end
return {allowed, remaining, start + period, wait}
"""


def _window_keys(prefix: str, window: Window, key: str, now_ms: int) -> list[str]:
    """The current and previous windows' counter keys, in one cluster hash slot."""
    index = now_ms // (window.period_seconds * 1000)
    base = f"{prefix}:{{{window.namespace}:{key}}}"
    return [f"{base}:{index}", f"{base}:{index - 1}"]


def _decision(window: Window, raw: list[Any] | tuple[Any, ...]) -> Decision:
    allowed, remaining, reset_ms, wait_ms = (int(value) for value in raw)
    return Decision(
        allowed=bool(allowed),
        limit=window.limit,
        remaining=remaining,
        reset_at=math.ceil(reset_ms / 1000),
        retry_after=max(1, math.ceil(wait_ms / 1000)),
    )


class MemoryCounter:
    """The sliding-window counter in this process's memory (thread-safe)."""

    # Counters of clients not seen for two periods are dropped once this many are held.
    SWEEP_AT = 10_000

    def __init__(self) -> None:
        # (namespace, key) -> (period_ms, window index, its count, the previous one's count)
        self._counts: dict[tuple[str, str], tuple[int, int, int, int]] = {}
        self._lock = threading.Lock()

    def count(self, window: Window, key: str, *, now: float, cost: int) -> Decision:
        period_ms = window.period_seconds * 1000
        now_ms = int(now * 1000)
        index = now_ms // period_ms
        name = (window.namespace, key)
        with self._lock:
            if len(self._counts) >= self.SWEEP_AT:
                self._sweep(now_ms)
            _, seen, seen_count, seen_previous = self._counts.get(name, (period_ms, index, 0, 0))
            if seen == index:
                previous, current = seen_previous, seen_count
            else:
                previous, current = (seen_count if seen == index - 1 else 0), 0
            allowed, current, remaining, reset_ms, wait_ms = _decide(
                window.limit, period_ms, now_ms, previous, current, cost
            )
            self._counts[name] = (period_ms, index, current, previous)
        return _decision(window, (allowed, remaining, reset_ms, wait_ms))

    def _sweep(self, now_ms: int) -> None:
        self._counts = {
            name: state
            for name, state in self._counts.items()
            if state[1] >= now_ms // state[0] - 1
        }

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


def count_in_redis(
    client: redis.Redis, prefix: str, window: Window, key: str, *, now: float, cost: int
) -> Decision:
    """`MemoryCounter.count` on Redis, from a worker thread (raises `redis.RedisError`)."""
    now_ms = int(now * 1000)
    script = _sync_script(client)
    raw = script(
        keys=_window_keys(prefix, window, key, now_ms),
        args=[window.limit, window.period_seconds * 1000, now_ms, cost],
    )
    return _decision(window, raw)


@lru_cache(maxsize=4)
def _sync_script(client: redis.Redis) -> Script:
    return client.register_script(_SCRIPT)


def build_rules(settings: Settings) -> list[Rule]:
    api = settings.API_V1_PREFIX
    return [
        Rule("auth", f"{api}/auth", settings.AUTH_RATE_LIMIT_REQUESTS_PER_MINUTE, 60),
        Rule("uploads", f"{api}/files/upload", settings.UPLOAD_RATE_LIMIT_REQUESTS_PER_HOUR, 3600),
        Rule(
            "certificate_verify",
            f"{api}/certificates/verify",
            settings.CERTIFICATE_VERIFY_RATE_LIMIT_PER_MINUTE,
            60,
        ),
        Rule(
            "credential_verify",
            f"{api}/credentials/verify",
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


def _path_matches(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


class RateLimiter:
    def __init__(self, settings: Settings, clock: Clock = time.time) -> None:
        self.settings = settings
        self.rules = build_rules(settings)
        self.credential_paths = tuple(settings.API_V1_PREFIX + p for p in CREDENTIAL_PATHS)
        self.use_redis = bool(settings.REDIS_URL and settings.RATE_LIMIT_USE_REDIS)
        self.clock = clock
        # One registered script per event loop: an asyncio connection belongs to its loop.
        self._scripts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncScript] = (
            weakref.WeakKeyDictionary()
        )
        self._memory = MemoryCounter()

    def rule_for(self, path: str) -> Rule | None:
        if self.is_excluded(path) or path in self.credential_paths:
            return None
        for rule in self.rules:
            if rule.prefix == "/" or _path_matches(path, rule.prefix):
                return rule
        return None

    def is_excluded(self, path: str) -> bool:
        return any(
            path == excluded or (excluded != "/" and _path_matches(path, excluded))
            for excluded in self.settings.RATE_LIMIT_EXCLUDED_PATHS
        )

    def _script(self) -> AsyncScript:
        """The counter script on the running loop's shared Redis connections."""
        loop = asyncio.get_running_loop()
        script = self._scripts.get(loop)
        if script is None:
            client = get_async_redis()
            assert client is not None
            script = self._scripts[loop] = client.register_script(_SCRIPT)
        return script

    async def hit(self, rule: Rule, client: str) -> Decision:
        """Count one request of `client` under `rule` (in memory while Redis fails)."""
        window, now = rule.window, self.clock()
        if self.use_redis:
            now_ms = int(now * 1000)
            keys = _window_keys(self.settings.RATE_LIMIT_REDIS_PREFIX, window, client, now_ms)
            try:
                raw = await self._script()(
                    keys=keys,
                    args=[window.limit, window.period_seconds * 1000, now_ms, 1],
                )
                return _decision(window, raw)
            except (redis.RedisError, OSError):
                logger.warning(
                    "Redis rate limiter failed; using the in-memory limiter", exc_info=True
                )
        return self._memory.count(window, client, now=now, cost=1)


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
