"""Health, readiness, metrics, pagination and cache helpers."""

from __future__ import annotations

import re
from typing import Any
from unittest.mock import patch

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from app.core.cache import cache_delete_prefix, cache_get, cache_key, cache_set
from app.core.pagination import Page, PageParams
from app.main import create_app
from tests.caching import eventually, set_until_held


def test_health_touches_nothing(env: Any) -> None:
    env(DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none")
    client = TestClient(create_app())
    assert client.get("/api/v1/health").json()["status"] == "ok"


def test_ready_checks_the_database(client: TestClient) -> None:
    body = client.get("/api/v1/ready").json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"


def test_ready_is_503_naming_the_database_when_it_points_nowhere(env: Any) -> None:
    env(DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none", DB_POOL_TIMEOUT_SECONDS="1")
    response = TestClient(create_app()).get("/api/v1/ready")
    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]


def test_ready_is_503_naming_redis_when_configured_and_down(env: Any) -> None:
    env(REDIS_URL="redis://127.0.0.1:1/0")
    response = TestClient(create_app()).get("/api/v1/ready")
    assert response.status_code == 503
    assert response.json()["failed"] == ["redis"]


def test_metrics_label_requests_by_route_template(env: Any) -> None:
    app = create_app()
    router = APIRouter()

    @router.get("/probe/items/{item_id}")
    def item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    app.include_router(router, prefix="/api/v1")
    client = TestClient(app)
    for value in ("a1", "b2", "c3"):
        client.get(f"/api/v1/probe/items/{value}")
    text = client.get("/metrics").text
    line = re.search(
        r'lms_http_requests_total\{method="GET",route="/api/v1/probe/items/\{item_id\}",'
        r'status="200"\} (\d+)',
        text,
    )
    assert line is not None and float(line.group(1)) >= 3
    assert 'route="/api/v1/probe/items/a1"' not in text
    assert "lms_http_request_duration_seconds_bucket" in text
    assert "lms_http_requests_in_flight" in text
    client.get("/api/v1/no/such/path")
    assert 'route="<unmatched>"' in client.get("/metrics").text


def test_metrics_can_require_a_token(env: Any) -> None:
    env(METRICS_TOKEN="metrics-secret-token")
    client = TestClient(create_app())
    assert client.get("/metrics").status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer metrics-secret-token"})
    assert ok.status_code == 200


def test_page_counts_pages() -> None:
    page = Page[int].build([1, 2], total=41, params=PageParams(page=3, page_size=20))
    assert (page.total, page.pages, page.page, page.page_size) == (41, 3, 3, 20)
    assert Page[int].build([], total=0, params=PageParams()).pages == 0


def test_cache_round_trip_and_invalidation() -> None:
    key = cache_key("catalogue", page=1, search="python", role="student")
    assert key != cache_key("catalogue", page=2, search="python", role="student")
    assert key != cache_key("catalogue", page=1, search="python", role="admin")
    assert cache_get(key) is None
    cache_set(key, {"items": [1, 2]}, ttl_seconds=30)
    assert cache_get(key) == {"items": [1, 2]}
    cache_delete_prefix("catalogue")
    assert cache_get(key) is None


@pytest.mark.redis
def test_cache_is_shared_through_redis() -> None:
    from app.core.redis import get_redis

    cache_set("shared:key", [1], ttl_seconds=30)
    client = get_redis()
    assert client is not None and client.get("cache:shared:key") == "[1]"


@pytest.mark.redis
def test_processes_keep_copies_until_any_process_invalidates() -> None:
    import uuid

    from app.core.cache import cache_peek
    from app.core.redis import get_redis

    namespace = f"copies-{uuid.uuid4().hex}"
    key = cache_key(namespace, page=1)
    assert set_until_held(key, "page one")
    client = get_redis()
    assert client is not None
    client.delete(f"cache:{key}")
    assert cache_get(key) == "page one"
    # Another process invalidating the namespace publishes it; this process drops its copy.
    client.publish("cache:invalidations", f"another-process {namespace}")
    assert eventually(lambda: cache_peek(key) is None)
    assert cache_get(key) is None


@pytest.mark.redis
def test_a_process_is_not_invalidated_again_by_its_own_message() -> None:
    """The copy a process takes right after its own invalidation survives the echo of that
    invalidation on the channel (it was built after Redis was cleared); another process's
    message still drops it."""
    import uuid

    import redis

    from app.core.cache import cache_peek, heard

    namespace = f"echo-{uuid.uuid4().hex}"
    key = cache_key(namespace, page=1)
    assert set_until_held(key, "old")
    # The echo is held back and delivered below, after the new copy is taken.
    with patch.object(redis.Redis, "publish") as publish:
        cache_delete_prefix(namespace)
    assert cache_peek(key) is None
    cache_set(key, "new", ttl_seconds=30)
    (echo,) = [call.args[1] for call in publish.call_args_list]
    heard(echo)
    assert cache_peek(key) == "new"
    heard(f"another-process {namespace}")
    assert cache_peek(key) is None


@pytest.mark.redis
def test_copies_are_not_trusted_while_not_listening() -> None:
    import uuid

    from app.core.cache import cache_peek, stop_listener
    from app.core.redis import get_redis

    key = cache_key(f"unheard-{uuid.uuid4().hex}", page=1)
    assert set_until_held(key, {"n": 1})
    client = get_redis()
    assert client is not None
    client.set(f"cache:{key}", '{"n": 2}', ex=30)
    stop_listener()
    # Without a subscription an invalidation could be missed: Redis is asked instead.
    assert cache_peek(key) is None
    assert cache_get(key) == {"n": 2}


def test_async_reads_answer_like_sync_reads() -> None:
    """`cache_get_async` (the event loop's read) sees what was set, in Redis when there is
    one, and stops seeing it after an invalidation."""
    import asyncio
    import uuid

    from app.core.cache import cache_get_async
    from app.core.redis import get_redis

    namespace = f"async-{uuid.uuid4().hex}"
    key = cache_key(namespace, page=1)
    assert asyncio.run(cache_get_async(key)) is None
    cache_set(key, {"page": 1}, ttl_seconds=30)
    assert asyncio.run(cache_get_async(key)) == {"page": 1}
    client = get_redis()
    if client is not None:
        # Written by another process: only Redis has it.
        other = cache_key(namespace, page=2)
        client.set(f"cache:{other}", '{"page": 2}', ex=30)
        assert asyncio.run(cache_get_async(other)) == {"page": 2}
    cache_delete_prefix(namespace)
    assert asyncio.run(cache_get_async(key)) is None


def test_startup_objects_are_frozen_out_of_garbage_collection() -> None:
    import gc

    with TestClient(create_app()):
        # Startup ran: what the process loaded is no longer scanned by full collections.
        assert gc.get_freeze_count() > 10_000
