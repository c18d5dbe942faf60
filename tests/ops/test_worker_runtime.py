"""Task metrics from Celery signals, business-event counters, the ping task and the worker's
metrics endpoint with queue lengths."""

from __future__ import annotations

import urllib.request
import uuid
from collections.abc import Callable

import pytest
from prometheus_client import REGISTRY

from app.core.database import session_scope
from app.core.events import emit
from app.core.tasks import celery_app, run_now
from app.core.worker_runtime import PONG_KEY, QueueLengthCollector, ping
from tests.live import free_port


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@celery_app.task(name="default.ops_test_always_fails")
def always_fails() -> None:
    raise RuntimeError("boom")


def test_successful_task_counts_an_outcome_and_a_duration() -> None:
    runs = sample("lms_task_runs_total", task="default.ping", outcome="success")
    timed = sample("lms_task_duration_seconds_count", task="default.ping")
    run_now(ping, "metrics-check")
    assert sample("lms_task_runs_total", task="default.ping", outcome="success") == runs + 1
    assert sample("lms_task_duration_seconds_count", task="default.ping") == timed + 1


def test_failing_task_counts_a_failure() -> None:
    name = "default.ops_test_always_fails"
    failures = sample("lms_task_runs_total", task=name, outcome="failure")
    run_now(always_fails)
    assert sample("lms_task_runs_total", task=name, outcome="failure") == failures + 1
    assert sample("lms_task_runs_total", task=name, outcome="success") == 0


def test_business_event_is_counted_only_when_committed() -> None:
    event = "enrollment.created"
    before = sample("lms_business_events_total", event=event)
    with session_scope() as session:
        emit(session, event, {"enrollment_id": str(uuid.uuid4())})
    assert sample("lms_business_events_total", event=event) == before + 1

    with pytest.raises(RuntimeError), session_scope() as session:
        emit(session, event, {"enrollment_id": str(uuid.uuid4())})
        raise RuntimeError("rolled back")
    assert sample("lms_business_events_total", event=event) == before + 1


@pytest.mark.redis
def test_ping_records_a_pong_in_redis() -> None:
    from app.core.redis import get_redis

    nonce = uuid.uuid4().hex
    run_now(ping, nonce)
    run_now(ping, nonce)
    client = get_redis()
    assert client is not None
    assert client.get(PONG_KEY.format(nonce=nonce)) == "2"
    assert 0 < client.ttl(PONG_KEY.format(nonce=nonce)) <= 3600


@pytest.mark.redis
def test_queue_length_collector_reads_the_broker() -> None:
    from app.core.config import get_settings
    from app.core.redis import get_redis

    client = get_redis()
    assert client is not None
    client.rpush("emails", "a", "b")
    client.rpush("emails\x06\x163", "c")  # a priority-3 message
    client.rpush("webhooks", "d")
    (family,) = QueueLengthCollector(get_settings().REDIS_URL or "").collect()
    lengths = {s.labels["queue"]: s.value for s in family.samples}
    assert lengths["emails"] == 3
    assert lengths["webhooks"] == 1
    assert lengths["default"] == 0


def test_queue_length_collector_survives_an_unreachable_broker() -> None:
    assert list(QueueLengthCollector("redis://127.0.0.1:1/0").collect()) == []


def test_worker_metrics_endpoint_serves_task_metrics(env: Callable[..., None]) -> None:
    from app.core.worker_runtime import _start_metrics_endpoint

    port = free_port()
    env(WORKER_METRICS_PORT=str(port), HOST="127.0.0.1")
    run_now(ping, "endpoint-check")
    _start_metrics_endpoint()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        body = response.read().decode()
    assert 'lms_task_runs_total{outcome="success",task="default.ping"}' in body


def test_worker_processes_start_sentry_with_scrubbing(env: Callable[..., None]) -> None:
    import sentry_sdk

    from app.core.observability import scrub_event
    from app.core.worker_runtime import _init_worker_observability

    env(SENTRY_DSN="http://public@127.0.0.1:1/1")
    try:
        _init_worker_observability()
        options = sentry_sdk.get_client().options
        assert options["server_name"] == "worker"
        assert options["before_send"] is scrub_event
        assert options["send_default_pii"] is False
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init(dsn=None)


@celery_app.task(name="default.ops_test_logs")
def logs_a_line() -> None:
    import logging

    logging.getLogger("app.test").warning("inside the task")


def test_worker_logs_are_json_with_the_task_id(capsys: pytest.CaptureFixture) -> None:
    import json
    import logging

    from app.core.worker_runtime import _setup_logging

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        _setup_logging()
        run_now(logs_a_line)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    (line,) = [entry for entry in lines if entry["message"] == "inside the task"]
    assert line["task_name"] == "default.ops_test_logs"
    assert line["task_id"]
