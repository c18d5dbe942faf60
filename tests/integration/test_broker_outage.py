"""A worker outlives its broker: Redis is killed (SIGKILL) under a running `lms worker` that
holds unacknowledged messages (a task running, one waiting for its countdown), comes back
empty, and the same worker process runs a task sent afterwards."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from celery import Celery

from tests.integration.private_redis import private_redis
from tests.live import background, wait_for

pytestmark = [pytest.mark.slow]


def test_the_worker_reconnects_when_redis_comes_back(tmp_path: Path) -> None:
    with private_redis(tmp_path) as broker:
        env = broker.env(tmp_path)
        client = broker.client()
        sender = Celery(broker=broker.url)
        log = tmp_path / "worker.log"
        with background("worker", "--concurrency", "2", env=env, log=log) as worker:
            wait_for(lambda: "ready." in log.read_text(), 60, "worker start", log)
            busy = f"busy-{uuid.uuid4().hex}"
            sender.send_task("default.ping", args=[busy, 30], queue="default")
            sender.send_task("default.ping", args=[busy], queue="default", countdown=120)
            # The worker holds both messages unacknowledged.
            wait_for(lambda: client.hlen("unacked") == 2, 30, "pickup", log)

            broker.kill()
            wait_for(lambda: "Connection to broker lost" in log.read_text(), 30, "loss", log)
            time.sleep(3)
            assert worker.poll() is None, log.read_text()[-4000:]

            broker.start()
            after = f"after-{uuid.uuid4().hex}"
            sender.send_task("default.ping", args=[after], queue="default")
            wait_for(lambda: client.get(f"worker:pong:{after}") == "1", 60, "the new task", log)
            assert worker.poll() is None
            assert "Unrecoverable error" not in log.read_text()
        sender.close()
        client.close()
