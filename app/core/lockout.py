"""Failed-login lockout with exponential backoff, and a per-address ceiling on failures, both
shared through Redis (memory otherwise).

Failures are counted per account and per account+IP, never per IP alone: one attacker
behind a school's shared address must not lock every pupil out. Successful sign-ins count
towards nothing, so hundreds of pupils behind one address sign in freely; failures from one
address also count towards `LOGIN_FAILURES_PER_IP_PER_MINUTE` (the sliding-window counter of
`app.core.ratelimit`),
which slows down password spraying (one guess tried against many accounts) without touching
the accounts themselves. The account+IP counter locks
after `MAX_FAILED_LOGIN_ATTEMPTS`; the account-wide counter, which catches guessing spread
over many addresses, locks after `ACCOUNT_WIDE_FACTOR` times as many. Each lock of the same
key lasts twice as long as the previous one (`ACCOUNT_LOCKOUT_BASE_SECONDS` doubling, capped at
`ACCOUNT_LOCKOUT_MAX_SECONDS`).

Keys are derived from the submitted email whether or not an account exists, so a lock never
reveals that an email is registered.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass

import redis

from app.core.config import get_settings
from app.core.errors import Locked, TooManyRequests
from app.core.ratelimit import Decision, MemoryCounter, Window, count_in_redis
from app.core.redis import get_redis

logger = logging.getLogger("app.lockout")

ACCOUNT_WIDE_FACTOR = 4
# State is forgotten a day after the last failure, so old mistakes do not add up forever.
STATE_TTL_SECONDS = 86_400
_PREFIX = "lockout:"

# KEYS[1]: state hash. ARGV: now, threshold, base seconds, max seconds, ttl.
# Runs atomically in Redis, so concurrent failures on several API processes all count.
_FAILURE_SCRIPT = """
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local locked_until = 0
if failures >= tonumber(ARGV[2]) then
  local locks = redis.call('HINCRBY', KEYS[1], 'locks', 1)
  local duration = math.min(tonumber(ARGV[3]) * 2 ^ (locks - 1), tonumber(ARGV[4]))
  locked_until = tonumber(ARGV[1]) + duration
  redis.call('HSET', KEYS[1], 'failures', 0, 'locked_until', locked_until)
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return tostring(locked_until)
"""


@dataclass
class _State:
    failures: int = 0
    locks: int = 0
    locked_until: float = 0.0
    expires_at: float = 0.0


_memory: dict[str, _State] = {}
_memory_lock = threading.Lock()


def _account_prefix(account: str) -> str:
    digest = hashlib.sha256(account.strip().lower().encode()).hexdigest()
    return f"{_PREFIX}{digest}:"


def _address_digest(ip: str) -> str:
    return hashlib.sha256(ip.encode()).hexdigest()[:32]


def _keys(account: str, ip: str) -> list[tuple[str, int]]:
    """(storage key, failure threshold) for the account+IP and the account-wide counters."""
    threshold = get_settings().MAX_FAILED_LOGIN_ATTEMPTS
    prefix = _account_prefix(account)
    return [
        (f"{prefix}ip:{_address_digest(ip)}", threshold),
        (f"{prefix}all", threshold * ACCOUNT_WIDE_FACTOR),
    ]


def _locked_until_redis(client: redis.Redis, key: str) -> float:
    value = client.hget(key, "locked_until")
    return float(value) if value else 0.0


def _locked_until_memory(key: str, now: float) -> float:
    with _memory_lock:
        state = _memory.get(key)
        if state is None:
            return 0.0
        if state.expires_at < now:
            _memory.pop(key, None)
            return 0.0
        return state.locked_until


def retry_after(account: str, ip: str) -> int:
    """Seconds until `account` may try again from `ip`; 0 when it is not locked."""
    now = time.time()
    keys = [key for key, _ in _keys(account, ip)]
    client = get_redis()
    until = 0.0
    if client is not None:
        try:
            until = max(_locked_until_redis(client, key) for key in keys)
            return max(0, int(until - now + 0.999))
        except redis.RedisError:
            logger.error("lockout store unreachable; using process memory", exc_info=True)
    until = max(_locked_until_memory(key, now) for key in keys)
    return max(0, int(until - now + 0.999))


def ensure_not_locked(account: str, ip: str) -> None:
    """Raise 423 with Retry-After while the account is locked for this address."""
    seconds = retry_after(account, ip)
    if seconds > 0:
        raise Locked(
            f"Too many failed sign-in attempts. Try again in {seconds} seconds.",
            code="account_locked",
            headers={"Retry-After": str(seconds)},
            extra={"retry_after": seconds},
        )


def _failure_memory(key: str, threshold: int, now: float) -> None:
    settings = get_settings()
    with _memory_lock:
        state = _memory.get(key)
        if state is None or state.expires_at < now:
            state = _memory[key] = _State()
        state.failures += 1
        if state.failures >= threshold:
            state.locks += 1
            duration = min(
                settings.ACCOUNT_LOCKOUT_BASE_SECONDS * 2 ** (state.locks - 1),
                settings.ACCOUNT_LOCKOUT_MAX_SECONDS,
            )
            state.locked_until = now + duration
            state.failures = 0
        state.expires_at = now + STATE_TTL_SECONDS


def register_failure(account: str, ip: str) -> None:
    """Count a failed sign-in against the account, the account+IP and the address."""
    _count_address_failure(ip)
    settings = get_settings()
    now = time.time()
    client = get_redis()
    if client is not None:
        try:
            script = client.register_script(_FAILURE_SCRIPT)
            for key, threshold in _keys(account, ip):
                script(
                    keys=[key],
                    args=[
                        now,
                        threshold,
                        settings.ACCOUNT_LOCKOUT_BASE_SECONDS,
                        settings.ACCOUNT_LOCKOUT_MAX_SECONDS,
                        STATE_TTL_SECONDS,
                    ],
                )
            return
        except redis.RedisError:
            logger.error("lockout store unreachable; counting in process memory", exc_info=True)
    for key, threshold in _keys(account, ip):
        _failure_memory(key, threshold, now)


def reset(account: str, ip: str | None = None) -> None:
    """Clear the account-wide counter and that of `ip` (a successful sign-in), or every
    counter of the account when `ip` is None (a password reset proves ownership)."""
    prefix = _account_prefix(account)
    keys = [key for key, _ in _keys(account, ip)] if ip is not None else []
    client = get_redis()
    if client is not None:
        try:
            if ip is None:
                keys = list(client.scan_iter(match=prefix + "*", count=500))
            if keys:
                client.delete(*keys)
        except redis.RedisError:
            logger.error("lockout store unreachable; could not reset", exc_info=True)
    with _memory_lock:
        for key in [k for k in _memory if k in keys or (ip is None and k.startswith(prefix))]:
            _memory.pop(key, None)


# --- failures per address -------------------------------------------------------------------


# This process's count, also the fallback while Redis fails.
_address_memory = MemoryCounter()


def _count_address(ip: str, *, cost: int) -> Decision:
    """Count (`cost` 1) or only check (0) a failure from `ip` on the shared counter, or on
    this process's while Redis fails."""
    settings = get_settings()
    window = Window("login_failures", settings.LOGIN_FAILURES_PER_IP_PER_MINUTE, 60)
    key, now = _address_digest(ip), time.time()
    client = get_redis()
    if client is not None:
        try:
            return count_in_redis(
                client, settings.RATE_LIMIT_REDIS_PREFIX, window, key, now=now, cost=cost
            )
        except redis.RedisError:
            logger.error("login failure counter unreachable; using process memory", exc_info=True)
    return _address_memory.count(window, key, now=now, cost=cost)


def ensure_address_allowed(ip: str) -> None:
    """Raise 429 with Retry-After while `ip` is over its ceiling of failed sign-ins."""
    decision = _count_address(ip, cost=0)
    if decision.allowed:
        return
    seconds = decision.retry_after
    raise TooManyRequests(
        f"Too many failed sign-ins from this address. Try again in {seconds} seconds.",
        code="login_failures_rate_limited",
        headers={"Retry-After": str(seconds)},
        extra={"retry_after": seconds},
    )


def _count_address_failure(ip: str) -> None:
    _count_address(ip, cost=1)


def clear_memory() -> None:
    with _memory_lock:
        _memory.clear()
    _address_memory.clear()
