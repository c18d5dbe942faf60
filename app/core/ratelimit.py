"""Shared rate limiter: the `limits` library's sliding-window counter, on Redis when configured
(so every API process draws on one budget) and in process memory otherwise, or as a logged
fallback while Redis fails.

The middleware counts every request of a client against its path's rule. Sign-in routes are
not counted there: a school behind one address would exhaust any per-address request budget.
`app.core.lockout` throttles them per account and counts failures per address instead.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import time
import weakref
from dataclasses import dataclass
from functools import lru_cache

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from starlette.requests import HTTPConnection

from app.core.config import Settings, get_settings
from app.core.redis import get_async_redis

logger = logging.getLogger("app.ratelimit")

# Credential routes throttled by `app.core.lockout` (per account, failures per address).
CREDENTIAL_PATHS = ("/auth/login", "/auth/login/mfa", "/auth/token")


@dataclass(frozen=True)
class Rule:
    name: str
    prefix: str
    limit: int
    period_seconds: int

    @property
    def item(self) -> RateLimitItem:
        return RateLimitItemPerSecond(self.limit, self.period_seconds, namespace=self.name)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int
    # Seconds until the next request would fit (what a refused client is told to wait).
    retry_after: int


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
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rules = build_rules(settings)
        self.credential_paths = tuple(settings.API_V1_PREFIX + p for p in CREDENTIAL_PATHS)
        self.use_redis = bool(settings.REDIS_URL and settings.RATE_LIMIT_USE_REDIS)
        # One Redis strategy per event loop: an asyncio connection belongs to its loop.
        self._redis: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, SlidingWindowCounterRateLimiter
        ] = weakref.WeakKeyDictionary()
        self._memory = SlidingWindowCounterRateLimiter(MemoryStorage())

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

    def _shared(self) -> SlidingWindowCounterRateLimiter:
        """The Redis strategy of the running loop, on the loop's shared Redis connections."""
        loop = asyncio.get_running_loop()
        strategy = self._redis.get(loop)
        if strategy is None:
            client = get_async_redis()
            assert client is not None and self.settings.REDIS_URL
            storage = RedisStorage(
                f"async+{self.settings.REDIS_URL}",
                implementation="redispy",
                connection_pool=client.connection_pool,
                key_prefix=self.settings.RATE_LIMIT_REDIS_PREFIX,
                wrap_exceptions=True,
            )
            strategy = self._redis[loop] = SlidingWindowCounterRateLimiter(storage)
        return strategy

    async def hit(self, rule: Rule, client: str) -> Decision:
        """Count one request of `client` under `rule` (in memory while Redis fails)."""
        if self.use_redis:
            try:
                return await _hit(self._shared(), rule, client)
            except (StorageError, OSError):
                logger.warning(
                    "Redis rate limiter failed; using the in-memory limiter", exc_info=True
                )
        return await _hit(self._memory, rule, client)


async def _hit(strategy: SlidingWindowCounterRateLimiter, rule: Rule, client: str) -> Decision:
    item = rule.item
    allowed = await strategy.hit(item, client)
    reset_time, remaining = await strategy.get_window_stats(item, client)
    now = time.time()
    wait = max(reset_time - now, 0.0)
    return Decision(
        allowed=allowed,
        limit=rule.limit,
        remaining=remaining,
        reset_at=math.ceil(reset_time),
        retry_after=max(1, math.ceil(wait)),
    )


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
