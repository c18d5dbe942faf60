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
