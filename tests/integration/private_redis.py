"""A private `redis-server` on a free port, for tests that kill and restart the broker (the
shared Redis of the test run must never be stopped)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from tests.live import free_port, service_env


class PrivateRedis:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        """Start (again, on the same port) with nothing stored, as after a crash."""
        self.starts += 1
        log = (self.folder / f"redis-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        client = self.client()
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
            finally:
                client.close()

    def kill(self) -> None:
        """SIGKILL: the server vanishes without closing its clients' connections cleanly."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def env(self, tmp: Path, **overrides: str) -> dict[str, str]:
        """A subprocess environment with this server as Redis and Celery broker."""
        return service_env(
            tmp,
            REDIS_URL=self.url,
            CELERY_BROKER_URL=self.url,
            TASKS_FORCE_INLINE="false",
            LOG_LEVEL="INFO",
            **overrides,
        )

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True, socket_timeout=5)


@contextmanager
def private_redis(folder: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("needs the redis-server program")
    server = PrivateRedis(folder)
    server.start()
    try:
        yield server
    finally:
        server.kill()
