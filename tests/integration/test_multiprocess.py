"""Scale-out on one machine: two `lms serve` processes on different ports and one `lms worker`,
all on the test PostgreSQL and Redis, behave as one service.

- a token revoked through one API process is refused by the other (the database answers);
- the /auth rate-limit budget is shared (Redis), not per process;
- a task enqueued by an API process is executed by the worker;
- a worker killed (SIGKILL) while running a task leaves it unacknowledged; after a restart the
  task runs exactly once (acks late + visibility timeout).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from celery import Celery

from tests.live import background, free_port, lms, service_env, wait_for, wait_until_ready

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

AUTH_BUDGET = 6
HOLD_SECONDS = 3
# Longer than the ping's hold (or a healthy worker's running task would be redelivered),
# short enough for the test to wait it out.
VISIBILITY_TIMEOUT = 8
PASSWORD = "Correct-Horse-9"


def cluster_env(tmp: Path) -> dict[str, str]:
    redis_url = os.environ["REDIS_URL"]
    return service_env(
        tmp,
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        TASKS_FORCE_INLINE="false",
        EMAIL_BACKEND="console",
        AUTH_RATE_LIMIT_REQUESTS_PER_MINUTE=str(AUTH_BUDGET),
        CELERY_VISIBILITY_TIMEOUT_SECONDS=str(VISIBILITY_TIMEOUT),
    )


class Cluster:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.env = cluster_env(tmp)
        # The worker keeps its own var/ folder, so an email in its outbox was sent by it and
        # not by an API process running the task inline.
        self.worker_env = {**self.env, "VAR_DIR": str(tmp / "worker-var")}
        self.stack = ExitStack()
        self.api: list[str] = []
        self.worker: subprocess.Popen[bytes] | None = None
        self.worker_starts = 0

    def start_api(self) -> None:
        for _ in range(2):
            port = free_port()
            log = self.tmp / f"api-{port}.log"
            process = self.stack.enter_context(
                background("serve", "--port", str(port), "--workers", "1", env=self.env, log=log)
            )
            url = f"http://127.0.0.1:{port}"
            wait_until_ready(url, process, log)
            self.api.append(url)

    def start_worker(self) -> subprocess.Popen[bytes]:
        self.worker_starts += 1
        log = self.tmp / f"worker-{self.worker_starts}.log"
        self.worker = self.stack.enter_context(
            background(
                "worker",
                "--concurrency",
                "1",
                "--queues",
                "default,emails",
                env=self.worker_env,
                log=log,
            )
        )
        return self.worker

    def kill_worker(self) -> None:
        assert self.worker is not None
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("cluster")
    cluster = Cluster(tmp)
    with cluster.stack:
        cluster.start_api()
        cluster.start_worker()
        yield cluster


def redis_client() -> Any:
    import redis

    return redis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)


def login(base_url: str, email: str) -> dict[str, Any]:
    response = httpx.post(
        f"{base_url}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=10
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_token_revoked_through_one_process_is_refused_by_the_other(
    cluster: Cluster, make_user: Callable[..., Any]
) -> None:
    first, second = cluster.api
    user = make_user(email="multi@example.com", password=PASSWORD)
    tokens = login(first, user.email)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert httpx.get(f"{second}/api/v1/auth/me", headers=headers).status_code == 200

    logout = httpx.post(
        f"{first}/api/v1/auth/logout",
        headers=headers,
        json={"refresh_token": tokens["refresh_token"]},
    )
    assert logout.status_code == 204
    refused = httpx.get(f"{second}/api/v1/auth/me", headers=headers)
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    # The refresh token died with the session on the other process as well.
    refresh = httpx.post(
        f"{second}/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refresh.status_code == 401


def test_the_rate_limit_budget_is_shared(cluster: Cluster) -> None:
    statuses = []
    for attempt in range(AUTH_BUDGET + 2):
        base_url = cluster.api[attempt % 2]
        response = httpx.post(
            f"{base_url}/api/v1/auth/forgot-password", json={"email": "nobody@example.com"}
        )
        statuses.append(response.status_code)
    # Alternating between the processes: with per-process budgets all eight would pass.
    assert statuses[:AUTH_BUDGET] == [202] * AUTH_BUDGET
    assert statuses[AUTH_BUDGET:] == [429, 429]


def test_a_task_enqueued_by_an_api_process_runs_on_the_worker(
    cluster: Cluster, make_user: Callable[..., Any]
) -> None:
    user = make_user(email="reset-me@example.com", password=PASSWORD)
    response = httpx.post(
        f"{cluster.api[1]}/api/v1/auth/forgot-password", json={"email": user.email}
    )
    assert response.status_code == 202
    # The worker (not the API process) delivers the email: console backend → its outbox.
    index = Path(cluster.worker_env["VAR_DIR"]) / "outbox" / "index.jsonl"

    def delivered() -> bool:
        if not index.exists():
            return False
        entries = [json.loads(line) for line in index.read_text().splitlines()]
        return any(entry["to"] == user.email for entry in entries)

    wait_for(delivered, 30, "the reset email")
    assert not (Path(cluster.env["VAR_DIR"]) / "outbox").exists()


def test_check_worker_gets_an_answer_from_the_live_worker(cluster: Cluster) -> None:
    result = lms("check-worker", "--timeout", "30", "--queues", "default,emails", env=cluster.env)
    assert "default: answered" in result.stdout and "emails: answered" in result.stdout


def test_a_task_interrupted_by_a_killed_worker_runs_once_after_restart(
    cluster: Cluster,
) -> None:
    client = redis_client()
    sender = Celery(broker=os.environ["REDIS_URL"])
    nonce = f"drill-{uuid.uuid4().hex}"
    pong = f"worker:pong:{nonce}"
    sender.send_task("default.ping", args=[nonce, HOLD_SECONDS], queue="default")

    # The worker has taken the message (it sits in kombu's unacknowledged set)...
    wait_for(lambda: client.hlen("unacked") == 1 and client.llen("default") == 0, 30, "pickup")
    time.sleep(0.5)
    # ... and dies before finishing it.
    cluster.kill_worker()
    time.sleep(HOLD_SECONDS + 1)
    assert client.get(pong) is None, "the task must not have completed"
    assert client.hlen("unacked") == 1

    cluster.start_worker()
    wait_for(lambda: client.get(pong), VISIBILITY_TIMEOUT + 40, "the redelivered task")
    # Exactly once: no second delivery after it completed and was acknowledged.
    time.sleep(VISIBILITY_TIMEOUT + 2)
    assert client.get(pong) == "1"
    assert client.hlen("unacked") == 0
    sender.close()
