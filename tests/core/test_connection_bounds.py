"""Bounded connections: with every pooled connection held, a request answers 503
`database_unavailable` with Retry-After within the pool timeout (never a 500, never a long
wait), on the worker-thread pool and on the event loop's pool alike. PgBouncer mode disables
prepared statements on both."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app

# Generous for a loaded machine; the pool gives up after POOL_TIMEOUT.
POOL_TIMEOUT = 0.5
ANSWER_WITHIN = 2.0


def _small_pools(env: Any) -> None:
    env(
        DB_POOL_SIZE="1",
        DB_MAX_OVERFLOW="0",
        DB_ASYNC_POOL_SIZE="1",
        DB_POOL_TIMEOUT_SECONDS=str(POOL_TIMEOUT),
        RATE_LIMIT_ENABLED="false",
    )


def _assert_unavailable_fast(send: Any) -> None:
    started = time.monotonic()
    response = send()
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "database_unavailable"
    assert int(response.headers["retry-after"]) >= 1
    assert POOL_TIMEOUT <= elapsed < ANSWER_WITHIN, elapsed


@pytest.mark.postgres
def test_an_exhausted_thread_pool_answers_503_quickly(
    env: Any, make_user: Any, auth_headers: Any
) -> None:
    user = make_user()
    _small_pools(env)
    from app.core.database import get_engine

    headers = auth_headers(user)
    with TestClient(create_app()) as client:
        assert client.get("/api/v1/users/me", headers=headers).status_code == 200
        held = get_engine().connect()
        try:
            held.begin()
            _assert_unavailable_fast(lambda: client.get("/api/v1/users/me", headers=headers))
        finally:
            held.close()
        # The connection is back: the same request succeeds again.
        assert client.get("/api/v1/users/me", headers=headers).status_code == 200


@pytest.mark.postgres
def test_an_exhausted_event_loop_pool_answers_503_quickly(
    env: Any, make_user: Any, auth_headers: Any
) -> None:
    from app.core.single_statement import _async_pool

    user = make_user()
    _small_pools(env)
    headers = auth_headers(user)
    with TestClient(create_app()) as client:
        path = "/api/v1/enrollments/my-courses"
        assert client.get(path, headers=headers).status_code == 200

        async def take() -> Any:
            return await (await _async_pool()).getconn()

        async def give_back(connection: Any) -> None:
            await (await _async_pool()).putconn(connection)

        # The app's event loop is the client's portal: the pool of that loop is the one held.
        connection = client.portal.call(take)
        try:
            _assert_unavailable_fast(lambda: client.get(path, headers=headers))
        finally:
            client.portal.call(give_back, connection)
        assert client.get(path, headers=headers).status_code == 200


@pytest.mark.postgres
def test_pgbouncer_mode_prepares_no_statements(env: Any, make_user: Any, auth_headers: Any) -> None:
    """psycopg prepares a statement run often enough; behind PgBouncer in transaction mode the
    next transaction may reach a server connection that never saw it."""
    from sqlalchemy import text

    from app.core.database import get_engine
    from app.core.single_statement import _async_pool

    env(DB_PGBOUNCER="true", DB_POOL_SIZE="1", DB_ASYNC_POOL_SIZE="1")
    with get_engine().connect() as connection:
        for _ in range(8):
            connection.execute(text("SELECT 1"))
        assert connection.connection.dbapi_connection.prepare_threshold is None  # type: ignore[union-attr]
        assert connection.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar() == 0
    headers = auth_headers(make_user())
    with TestClient(create_app()) as client:
        for _ in range(8):
            assert client.get("/api/v1/enrollments/my-courses", headers=headers).status_code == 200

        async def prepared() -> tuple[Any, int]:
            async with (await _async_pool()).connection() as connection:
                cursor = await connection.execute("SELECT count(*) FROM pg_prepared_statements")
                row = await cursor.fetchone()
                assert row is not None
                return connection.prepare_threshold, row[0]

        assert client.portal.call(prepared) == (None, 0)
