"""A worker outlives its broker: Redis is killed (SIGKILL) under a running `lms worker` that
holds unacknowledged messages (a task running, one waiting for its countdown), comes back
empty, and the same worker process runs a task sent afterwards."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from tests.integration.private_redis import private_redis
from tests.live import background, service_env

pytestmark = [pytest.mark.slow]


def _wait_for(condition: Callable[[], Any], timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen in {timeout}s:\n{log.read_text()[-4000:]}")


def test_the_worker_reconnects_when_redis_comes_back(tmp_path: Path) -> None:
    with private_redis(tmp_path) as broker:
        env = service_env(
            tmp_path,
            REDIS_URL=broker.url,
            CELERY_BROKER_URL=broker.url,
            TASKS_FORCE_INLINE="false",
            LOG_LEVEL="INFO",
        )
        client = broker.client()
        sender = Celery(broker=broker.url)
        log = tmp_path / "worker.log"
        with background("worker", "--concurrency", "2", env=env, log=log) as worker:
            _wait_for(lambda: "ready." in log.read_text(), 60, "worker start", log)
            busy = f"busy-{uuid.uuid4().hex}"
            sender.send_task("default.ping", args=[busy, 30], queue="default")
            sender.send_task("default.ping", args=[busy], queue="default", countdown=120)
            # The worker holds both messages unacknowledged.
            _wait_for(lambda: client.hlen("unacked") == 2, 30, "pickup", log)

            broker.kill()
            _wait_for(lambda: "Connection to broker lost" in log.read_text(), 30, "loss", log)
            time.sleep(3)
            assert worker.poll() is None, log.read_text()[-4000:]

            broker.start()
            after = f"after-{uuid.uuid4().hex}"
            sender.send_task("default.ping", args=[after], queue="default")
            _wait_for(lambda: client.get(f"worker:pong:{after}") == "1", 60, "the new task", log)
            assert worker.poll() is None
            assert "Unrecoverable error" not in log.read_text()
        sender.close()
        client.close()
