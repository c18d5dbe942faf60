"""Shared rate limiter (the `limits` library): Redis when configured, so every API process
draws on one budget; in-memory otherwise, and in-memory as a logged fallback if Redis fails."""

from __future__ import annotations

import ipaddress
import logging
import time
from dataclasses import dataclass
from functools import lru_cache

from limits import (
    RateLimitItem,
    RateLimitItemPerHour,
    RateLimitItemPerMinute,
    RateLimitItemPerSecond,
)
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from starlette.requests import HTTPConnection

from app.core.config import Settings, get_settings

logger = logging.getLogger("app.ratelimit")


@dataclass(frozen=True)
class Rule:
    name: str
    prefix: str
    item: RateLimitItem


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int

    @property
    def retry_after(self) -> int:
        return max(1, self.reset_at - int(time.time()))


def build_rules(settings: Settings) -> list[Rule]:
    api = settings.API_V1_PREFIX
    login = RateLimitItemPerMinute(settings.LOGIN_RATE_LIMIT_REQUESTS_PER_MINUTE)
    rules = [
        Rule("login", f"{api}/auth/login", login),
        Rule("login", f"{api}/auth/token", login),
        Rule("login", f"{api}/auth/forgot-password", login),
        Rule(
            "auth",
            f"{api}/auth",
            RateLimitItemPerMinute(settings.AUTH_RATE_LIMIT_REQUESTS_PER_MINUTE),
        ),
        Rule(
            "uploads",
            f"{api}/files/upload",
            RateLimitItemPerHour(settings.UPLOAD_RATE_LIMIT_REQUESTS_PER_HOUR),
        ),
        Rule(
            "certificate_verify",
            f"{api}/certificates/verify",
            RateLimitItemPerMinute(settings.CERTIFICATE_VERIFY_RATE_LIMIT_PER_MINUTE),
        ),
    ]
    general = RateLimitItemPerSecond(
        settings.RATE_LIMIT_REQUESTS_PER_MINUTE, settings.RATE_LIMIT_WINDOW_SECONDS
    )
    rules.append(Rule("general", "/", general))
    return rules


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rules = build_rules(settings)
        self._memory = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._redis: SlidingWindowCounterRateLimiter | None = None
        if settings.REDIS_URL and settings.RATE_LIMIT_USE_REDIS:
            storage = RedisStorage(
                settings.REDIS_URL,
                key_prefix=settings.RATE_LIMIT_REDIS_PREFIX,
                wrap_exceptions=True,
                socket_timeout=1.0,
                socket_connect_timeout=1.0,
            )
            self._redis = SlidingWindowCounterRateLimiter(storage)

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

    def hit(self, rule: Rule, key: str) -> Decision:
        identifiers = (rule.name, key)
        if self._redis is not None:
            try:
                allowed = self._redis.hit(rule.item, *identifiers)
                stats = self._redis.get_window_stats(rule.item, *identifiers)
                return Decision(allowed, rule.item.amount, stats.remaining, int(stats.reset_time))
            except Exception:
                logger.warning(
                    "Redis rate limiter failed; using the in-memory limiter", exc_info=True
                )
        allowed = self._memory.hit(rule.item, *identifiers)
        stats = self._memory.get_window_stats(rule.item, *identifiers)
        return Decision(allowed, rule.item.amount, stats.remaining, int(stats.reset_time))


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
