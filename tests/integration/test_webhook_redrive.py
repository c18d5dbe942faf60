"""A webhook delivery whose worker was killed (SIGKILL) mid-attempt is sent again by the beat
re-drive job within WEBHOOK_REDRIVE_AFTER_SECONDS, not after the broker's visibility timeout,
and only once: the lost task's message is still unacknowledged when the delivery succeeds."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from tests.integration.private_redis import private_redis
from tests.live import background, wait_for
from tests.modules.webhooks.helpers import create_delivery, stored_delivery
from tests.ops.fake_servers import serve

pytestmark = [pytest.mark.slow]

REDRIVE_AFTER = 5


def test_a_delivery_lost_with_a_killed_worker_is_redriven_once(tmp_path: Path) -> None:
    release = threading.Event()
    calls: list[float] = []

    def receiver(*_: Any) -> tuple[int, dict[str, str], bytes]:
        calls.append(time.monotonic())
        if len(calls) == 1:
            release.wait(60)  # the first attempt hangs until its worker is killed
        return 200, {}, b"ok"

    with private_redis(tmp_path) as broker, serve(receiver) as server:
        delivery_id = create_delivery(f"{server.url}/hooks")
        env = broker.env(
            tmp_path,
            WEBHOOKS_ALLOW_PRIVATE_TARGETS="true",
            WEBHOOK_TIMEOUT_SECONDS="30",
            WEBHOOK_REDRIVE_AFTER_SECONDS=str(REDRIVE_AFTER),
            WEBHOOK_REDRIVE_CRON="every:1",
        )
        client = broker.client()
        sender = Celery(broker=broker.url)
        first_log, second_log, beat_log = (
            tmp_path / name for name in ("worker-1.log", "worker-2.log", "beat.log")
        )
        try:
            with background("worker", "--concurrency", "1", env=env, log=first_log) as first:
                wait_for(lambda: "ready." in first_log.read_text(), 60, "worker start", first_log)
                sender.send_task("webhooks.deliver", args=[str(delivery_id)], queue="webhooks")
                wait_for(lambda: len(calls) == 1, 30, "the first attempt", first_log)
                os.killpg(first.pid, signal.SIGKILL)
                first.wait(timeout=10)
            lost = stored_delivery(delivery_id)
            assert (lost.status, lost.attempts_count) == ("pending", 0)
            assert lost.claimed_until is not None
            assert client.hlen("unacked") == 1

            with (
                background("worker", "--concurrency", "1", env=env, log=second_log),
                background("beat", env=env, log=beat_log),
            ):
                wait_for(
                    lambda: stored_delivery(delivery_id).status == "succeeded",
                    REDRIVE_AFTER + 60,
                    "the re-driven delivery",
                    second_log,
                    beat_log,
                )
                # Beat keeps running the job: the delivered row is not sent again.
                time.sleep(REDRIVE_AFTER + 3)
            assert len(calls) == 2
            done = stored_delivery(delivery_id)
            assert (done.attempts_count, done.claimed_until) == (1, None)
            # The killed worker's message is still waiting out the visibility timeout.
            assert client.hlen("unacked") == 1
        finally:
            release.set()
            sender.close()
            client.close()
