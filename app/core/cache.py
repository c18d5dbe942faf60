"""Small TTL cache: Redis when configured (shared by every API process), memory otherwise.

A cache failure never fails a request: reads miss and writes are skipped, and it is logged.
Callers build keys with `cache_key()` from every parameter that changes the answer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from typing import Any

import redis

from app.core.config import get_settings
from app.core.redis import get_redis

logger = logging.getLogger("app.cache")

_PREFIX = "cache:"
_memory: dict[str, tuple[float, str]] = {}
_memory_lock = threading.Lock()
_MEMORY_MAX_ITEMS = 10_000


def cache_key(namespace: str, **parts: Any) -> str:
    """A key for `namespace` that differs whenever any part differs."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[
        :32
    ]
    return f"{namespace}:{digest}"


def cache_get(key: str) -> Any | None:
    if not get_settings().CACHE_ENABLED:
        return None
    client = get_redis()
    if client is not None:
        try:
            raw = client.get(_PREFIX + key)
        except redis.RedisError:
            logger.warning("cache read failed; treating as a miss", exc_info=True)
            return None
        return json.loads(raw) if raw is not None else None
    with _memory_lock:
        entry = _memory.get(key)
        if entry is None:
            return None
        expires, raw = entry
        if expires < time.monotonic():
            _memory.pop(key, None)
            return None
    return json.loads(raw)


def cache_set(key: str, value: Any, ttl_seconds: int | None = None) -> None:
    settings = get_settings()
    if not settings.CACHE_ENABLED:
        return
    ttl = ttl_seconds or settings.CACHE_DEFAULT_TTL_SECONDS
    raw = json.dumps(value, default=str)
    client = get_redis()
    if client is not None:
        try:
            client.set(_PREFIX + key, raw, ex=ttl)
        except redis.RedisError:
            logger.warning("cache write failed; skipped", exc_info=True)
        return
    with _memory_lock:
        if len(_memory) >= _MEMORY_MAX_ITEMS:
            _memory.clear()
        _memory[key] = (time.monotonic() + ttl, raw)


def cache_delete_prefix(prefix: str) -> None:
    """Invalidate every key that starts with `prefix` (e.g. a namespace)."""
    client = get_redis()
    if client is not None:
        try:
            keys = list(client.scan_iter(match=_PREFIX + prefix + "*", count=500))
            if keys:
                client.delete(*keys)
        except redis.RedisError:
            logger.warning("cache invalidation failed", exc_info=True)
        return
    with _memory_lock:
        for key in [key for key in _memory if key.startswith(prefix)]:
            _memory.pop(key, None)


def cache_clear_memory() -> None:
    with _memory_lock:
        _memory.clear()
