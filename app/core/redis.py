"""The shared Redis clients (None in embedded mode, when `REDIS_URL` is not set).

`get_redis()` is the blocking client for code running in worker threads; `get_async_redis()`
the asyncio client for code on the event loop (middleware), one per loop because an asyncio
connection belongs to the loop that opened it.
"""

from __future__ import annotations

import asyncio
import weakref
from functools import lru_cache
from typing import Any

import redis
import redis.asyncio

from app.core.config import get_settings

_CLIENT_OPTIONS: dict[str, Any] = {
    "decode_responses": True,
    "socket_connect_timeout": 1.0,
    "socket_timeout": 1.0,
    "health_check_interval": 30,
    "max_connections": 100,
}
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis] = (
    weakref.WeakKeyDictionary()
)


@lru_cache
def get_redis() -> redis.Redis | None:
    url = get_settings().REDIS_URL
    if not url:
        return None
    return redis.Redis.from_url(url, **_CLIENT_OPTIONS)


def get_async_redis() -> redis.asyncio.Redis | None:
    """The asyncio client of the running event loop."""
    url = get_settings().REDIS_URL
    if not url:
        return None
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = redis.asyncio.Redis.from_url(url, **_CLIENT_OPTIONS)
        _async_clients[loop] = client
    return client


def reset_redis() -> None:
    client = get_redis() if get_redis.cache_info().currsize else None
    if client is not None:
        client.close()
    get_redis.cache_clear()
    # Their connections close with their loops; a new URL needs new clients.
    _async_clients.clear()
