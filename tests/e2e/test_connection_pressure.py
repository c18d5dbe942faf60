"""More concurrent authenticated requests than pooled connections or worker threads: every
request is answered. Authentication ends its read before the request waits for the worker
thread of its endpoint, so waiting requests never hold the connections those threads need."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live import live_server, service_env

pytestmark = pytest.mark.postgres

CONCURRENT = 80  # above the default 40 worker threads of one process


def test_concurrent_requests_beyond_the_pool_all_succeed(
    tmp_path: Path, make_user: Any, auth_headers: Any
) -> None:
    user = make_user()
    headers = auth_headers(user)
    env = service_env(tmp_path, DB_POOL_SIZE="2", DB_MAX_OVERFLOW="0", DB_POOL_TIMEOUT_SECONDS="5")

    async def burst(base_url: str) -> list[int]:
        limits = httpx.Limits(max_connections=CONCURRENT)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
            responses = await asyncio.gather(
                *(client.get("/api/v1/users/me", headers=headers) for _ in range(CONCURRENT))
            )
        return [response.status_code for response in responses]

    with live_server(env, tmp_path, migrate=False) as base_url:
        assert asyncio.run(burst(base_url)) == [200] * CONCURRENT


def test_terminated_backends_cost_no_request_an_error(
    tmp_path: Path, make_user: Any, auth_headers: Any
) -> None:
    """Between bursts, every backend the server holds is terminated (as a restart or failover
    would): pooled connections of both pools are found dead on checkout and replaced, so no
    request answers 500. Only this test's own server's backends are touched (by name)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from app.core.config import get_settings

    probe = "lms-failover-probe"
    url = make_url(get_settings().DATABASE_URL).update_query_dict({"application_name": probe})
    headers = auth_headers(make_user())
    env = service_env(
        tmp_path,
        DATABASE_URL=url.render_as_string(hide_password=False),
        DB_POOL_SIZE="4",
        DB_POOL_PING_IDLE_SECONDS="3600",
    )
    killer = create_engine(get_settings().DATABASE_URL, isolation_level="AUTOCOMMIT")

    def terminate_server_backends() -> int:
        with killer.connect() as connection:
            return len(
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                        "WHERE application_name = :name"
                    ),
                    {"name": probe},
                ).all()
            )

    async def burst(client: httpx.AsyncClient) -> list[int]:
        paths = ("/api/v1/users/me", "/api/v1/enrollments/my-courses")
        responses = await asyncio.gather(
            *(client.get(paths[i % 2], headers=headers) for i in range(20))
        )
        return [response.status_code for response in responses]

    async def run(base_url: str) -> tuple[list[int], int]:
        statuses: list[int] = []
        terminated = 0
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            for _ in range(8):
                statuses += await burst(client)
                terminated += await asyncio.to_thread(terminate_server_backends)
            statuses += await burst(client)
        return statuses, terminated

    try:
        with live_server(env, tmp_path, migrate=False) as base_url:
            statuses, terminated = asyncio.run(run(base_url))
    finally:
        killer.dispose()
    assert terminated >= 8  # connections were really cut under the server
    assert statuses == [200] * len(statuses)
