"""Small TTL cache: Redis when configured (shared by every API process), memory otherwise.

With Redis, each process also keeps the entries it read or wrote in memory, for no longer than
their TTL in Redis, and forgets them when any process invalidates a prefix: invalidations are
published on a Redis channel every process listens to. Memory copies are used only while that
listener is subscribed, so a process that could have missed an invalidation (Redis restarted,
connection lost) reads from Redis until it has resubscribed and dropped its copies.

A cache failure never fails a request: reads miss and writes are skipped, and it is logged.
Callers build keys with `cache_key()` from every parameter that changes the answer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import uuid
from typing import Any

import redis

from app.core.config import get_settings
from app.core.redis import get_async_redis, get_redis

logger = logging.getLogger("app.cache")

_PREFIX = "cache:"
_CHANNEL = "cache:invalidations"
_MEMORY_MAX_ITEMS = 10_000

# key -> (expires at, monotonic clock; the value, or its JSON text when the value is mutable)
_memory: dict[str, tuple[float, Any, bool]] = {}
_memory_lock = threading.Lock()
# Bumped by every invalidation: a value read before one must not be remembered after it.
_generation = 0
# Names this process on the invalidation channel (forked workers differ by pid).
_BOOT = uuid.uuid4().hex


def _origin() -> str:
    return f"{_BOOT}.{os.getpid()}"


def cache_key(namespace: str, **parts: Any) -> str:
    """A key for `namespace` that differs whenever any part differs."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[
        :32
    ]
    return f"{namespace}:{digest}"


# --- this process's copies -----------------------------------------------------------------


def _remember(
    key: str, value: Any, raw: str, ttl_seconds: float, generation: int | None = None
) -> None:
    # Strings are immutable and handed out as they are; anything else is decoded per read so
    # one caller cannot change what the next one gets.
    entry = (time.monotonic() + ttl_seconds, value, False) if isinstance(value, str) else None
    with _memory_lock:
        if generation is not None and generation != _generation:
            return  # invalidated while it was being read
        if len(_memory) >= _MEMORY_MAX_ITEMS:
            _memory.clear()
        _memory[key] = entry or (time.monotonic() + ttl_seconds, raw, True)


def _recall(key: str) -> Any | None:
    with _memory_lock:
        entry = _memory.get(key)
        if entry is None:
            return None
        expires, stored, is_raw = entry
        if expires < time.monotonic():
            _memory.pop(key, None)
            return None
    return json.loads(stored) if is_raw else stored


def _forget(prefix: str) -> None:
    global _generation
    with _memory_lock:
        _generation += 1
        for key in [key for key in _memory if key.startswith(prefix)]:
            _memory.pop(key, None)


def cache_clear_memory() -> None:
    global _generation
    with _memory_lock:
        _generation += 1
        _memory.clear()


# --- invalidations from other processes ----------------------------------------------------


def heard(message: str) -> None:
    """Apply an invalidation heard on the channel (`<origin> <prefix>`)."""
    origin, _, prefix = message.partition(" ")
    # This process forgot its own invalidations when it made them; forgetting again would drop
    # copies taken since, from the already-cleared Redis.
    if origin != _origin():
        _forget(prefix)


class _Listener:
    """A daemon thread subscribed to the invalidation channel of one Redis URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pid = os.getpid()
        self.subscribed = threading.Event()
        self._stopped = threading.Event()
        threading.Thread(target=self._run, name="cache-invalidations", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        self.subscribed.clear()

    def _run(self) -> None:
        while not self._stopped.is_set():
            client = redis.Redis.from_url(
                self.url,
                decode_responses=True,
                socket_connect_timeout=1.0,
                socket_timeout=10.0,
                health_check_interval=5,
            )
            pubsub = client.pubsub()
            try:
                pubsub.subscribe(_CHANNEL)
                while not self._stopped.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        # Copies taken before now may have missed an invalidation.
                        cache_clear_memory()
                        self.subscribed.set()
                    elif message["type"] == "message":
                        heard(message["data"])
            except (redis.RedisError, OSError):
                if not self._stopped.is_set():
                    logger.warning("cache invalidation listener lost Redis; retrying")
            finally:
                self.subscribed.clear()
                pubsub.close()
                client.close()
            self._stopped.wait(1.0)


_listener: _Listener | None = None
_listener_lock = threading.Lock()


def _listening(url: str) -> bool:
    """Whether this process's memory copies are trustworthy (starting the listener if
    needed: after a fork or a change of URL, the previous one does not count)."""
    global _listener
    listener = _listener
    if listener is None or listener.url != url or listener.pid != os.getpid():
        with _listener_lock:
            listener = _listener
            if listener is None or listener.url != url or listener.pid != os.getpid():
                if listener is not None and listener.pid == os.getpid():
                    listener.stop()
                listener = _listener = _Listener(url)
    return listener.subscribed.is_set()


def stop_listener() -> None:
    global _listener
    with _listener_lock:
        if _listener is not None and _listener.pid == os.getpid():
            _listener.stop()
        _listener = None


# --- the cache -----------------------------------------------------------------------------


def cache_peek(key: str) -> Any | None:
    """The value only if this process holds a trustworthy copy: never any I/O, so it is safe
    to call on the event loop."""
    settings = get_settings()
    if not settings.CACHE_ENABLED:
        return None
    if settings.REDIS_URL and not _listening(settings.REDIS_URL):
        return None
    return _recall(key)


def _fetched(key: str, raw: str | None, ttl_ms: int, listening: bool, generation: int) -> Any:
    """The value Redis answered for `key`, remembered when copies are trustworthy."""
    if raw is None:
        return None
    value = json.loads(raw)
    if listening and ttl_ms > 0:
        _remember(key, value, raw, ttl_ms / 1000, generation)
    return value


def _answered_locally(key: str, shared: bool) -> tuple[bool, Any, bool]:
    """(answered, value, listening) for a read: answered without Redis when caching is off,
    when there is no Redis (`shared` False) or when this process holds a trustworthy copy."""
    settings = get_settings()
    if not settings.CACHE_ENABLED:
        return True, None, False
    if not shared:
        return True, _recall(key), False
    listening = _listening(settings.REDIS_URL or "")
    hit = _recall(key) if listening else None
    return hit is not None, hit, listening


def cache_get(key: str) -> Any | None:
    client = get_redis()
    answered, value, listening = _answered_locally(key, client is not None)
    if answered or client is None:
        return value
    generation = _generation
    try:
        raw, ttl_ms = (
            client.pipeline(transaction=False).get(_PREFIX + key).pttl(_PREFIX + key).execute()
        )
    except redis.RedisError:
        logger.warning("cache read failed; treating as a miss", exc_info=True)
        return None
    return _fetched(key, raw, ttl_ms, listening, generation)


async def cache_get_async(key: str) -> Any | None:
    """`cache_get` for code on the event loop: Redis is read with the asyncio client."""
    client = get_async_redis()
    answered, value, listening = _answered_locally(key, client is not None)
    if answered or client is None:
        return value
    generation = _generation
    try:
        pipeline = client.pipeline(transaction=False)
        raw, ttl_ms = await pipeline.get(_PREFIX + key).pttl(_PREFIX + key).execute()
    except redis.RedisError:
        logger.warning("cache read failed; treating as a miss", exc_info=True)
        return None
    return _fetched(key, raw, ttl_ms, listening, generation)


def cache_set(key: str, value: Any, ttl_seconds: int | None = None) -> None:
    settings = get_settings()
    if not settings.CACHE_ENABLED:
        return
    ttl = ttl_seconds or settings.CACHE_DEFAULT_TTL_SECONDS
    raw = json.dumps(value, default=str)
    client = get_redis()
    if client is None:
        _remember(key, value, raw, ttl)
        return
    try:
        client.set(_PREFIX + key, raw, ex=ttl)
    except redis.RedisError:
        logger.warning("cache write failed; skipped", exc_info=True)
        return
    if _listening(settings.REDIS_URL or ""):
        _remember(key, value, raw, ttl)


def cache_delete_prefix(prefix: str) -> None:
    """Invalidate every key that starts with `prefix` (e.g. a namespace), in every process."""
    _forget(prefix)
    client = get_redis()
    if client is None:
        return
    try:
        keys = list(client.scan_iter(match=_PREFIX + prefix + "*", count=500))
        if keys:
            client.delete(*keys)
        # A read of Redis that began before the delete must not leave its copy here either.
        _forget(prefix)
        client.publish(_CHANNEL, f"{_origin()} {prefix}")
    except redis.RedisError:
        logger.warning("cache invalidation failed", exc_info=True)
