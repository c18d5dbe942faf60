"""Waiting on the cache's background invalidation listener, whose subscription decides whether a
process may keep copies of what it reads and writes."""

from __future__ import annotations

import time
from typing import Any

from app.core.cache import cache_peek, cache_set


def eventually(check: Any, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return bool(check())


def set_until_held(key: str, value: Any) -> bool:
    """Set `key` until this process keeps a copy (the invalidation listener subscribes in the
    background; copies are taken only once it has)."""

    def held() -> bool:
        cache_set(key, value, ttl_seconds=30)
        return bool(cache_peek(key) == value)

    return eventually(held)
