"""The shared Redis client (None in embedded mode, when `REDIS_URL` is not set)."""

from __future__ import annotations

from functools import lru_cache

import redis

from app.core.config import get_settings


@lru_cache
def get_redis() -> redis.Redis | None:
    url = get_settings().REDIS_URL
    if not url:
        return None
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=1.0,
        socket_timeout=1.0,
        health_check_interval=30,
        max_connections=100,
    )


def reset_redis() -> None:
    client = get_redis() if get_redis.cache_info().currsize else None
    if client is not None:
        client.close()
    get_redis.cache_clear()
