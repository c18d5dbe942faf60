"""What every Celery worker and beat process runs besides the tasks themselves.

- Task metrics from Celery signals: `lms_task_runs_total{task,outcome}` and
  `lms_task_duration_seconds{task}` (also for tasks run inline in embedded mode).
- Sentry in worker and beat processes (the API initialises it in `create_app`).
- The application's JSON logging instead of Celery's, with the task id and name on each line.
- A Prometheus endpoint for the worker on `WORKER_METRICS_PORT`, adding the length of every
  queue (`lms_task_queue_length{queue}`) so a backlog can alert.
- `default.ping`, the task `lms check-worker` sends to prove the broker → worker path works.

Imported by `app.core.tasks`, so every process that can run a task has these hooks.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from celery import signals
from celery.app.task import Task
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from app.core.config import get_settings
from app.core.metrics import TASK_DURATION, TASK_RUNS
from app.core.tasks import QUEUES, celery_app

logger = logging.getLogger("app.worker")

PONG_KEY = "worker:pong:{nonce}"
PONG_TTL_SECONDS = 3600
MAX_HOLD_SECONDS = 60.0
# kombu's Redis transport keeps priorities 3/6/9 in sibling lists "<queue>\x06\x16<priority>".
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")

_started: dict[str, float] = {}
_started_lock = threading.Lock()


# --- task metrics -------------------------------------------------------------------------


@signals.task_prerun.connect
def _task_started(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        with _started_lock:
            _started[task_id] = time.perf_counter()


@signals.task_postrun.connect
def _task_finished(
    task_id: str | None = None, task: Task | None = None, state: str | None = None, **_: Any
) -> None:
    with _started_lock:
        started = _started.pop(task_id or "", None)
    name = task.name if task is not None else "unknown"
    # postrun fires for every outcome: SUCCESS, FAILURE, RETRY (and IGNORED/REJECTED).
    TASK_RUNS.labels(name, (state or "unknown").lower()).inc()
    if started is not None:
        TASK_DURATION.labels(name).observe(time.perf_counter() - started)


# --- Sentry and logging in worker and beat processes -------------------------------------


@signals.celeryd_init.connect
def _init_worker_observability(**_: Any) -> None:
    from app.core.observability import init_sentry

    init_sentry(get_settings(), component="worker")


@signals.beat_init.connect
def _init_beat_observability(**_: Any) -> None:
    from app.core.observability import init_sentry

    init_sentry(get_settings(), component="beat")


class _TaskContextFilter(logging.Filter):
    """Adds the running task's id and name, so a task's log lines can be followed."""

    def filter(self, record: logging.LogRecord) -> bool:
        from celery import current_task

        if current_task and current_task.request.id:
            record.task_id = current_task.request.id
            record.task_name = current_task.name
        return True


@signals.setup_logging.connect
def _setup_logging(**_: Any) -> None:
    # Connecting to this signal stops Celery from installing its own plain-text handlers.
    from app.core.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.LOG_LEVEL, settings.LOG_JSON, settings.LOG_LEVEL_LIBRARIES)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_TaskContextFilter())


# --- the worker's metrics endpoint ----------------------------------------------------------


class QueueLengthCollector(Collector):
    """Reads each queue's length from the Redis broker at scrape time."""

    def __init__(self, broker_url: str) -> None:
        self.broker_url = broker_url

    def collect(self) -> Iterator[GaugeMetricFamily]:
        import redis

        family = GaugeMetricFamily(
            "lms_task_queue_length", "Tasks waiting in the broker, per queue", labels=["queue"]
        )
        client = redis.Redis.from_url(self.broker_url, socket_connect_timeout=2, socket_timeout=2)
        try:
            with client.pipeline(transaction=False) as pipe:
                for queue in QUEUES:
                    for suffix in _PRIORITY_SUFFIXES:
                        pipe.llen(queue + suffix)
                lengths = pipe.execute()
        except redis.RedisError as exc:
            logger.warning("queue length scrape failed: %s", type(exc).__name__)
            return
        finally:
            client.close()
        step = len(_PRIORITY_SUFFIXES)
        for index, queue in enumerate(QUEUES):
            family.add_metric([queue], float(sum(lengths[index * step : (index + 1) * step])))
        yield family


def metrics_registry() -> CollectorRegistry:
    """The worker's registry: every pool process's samples when PROMETHEUS_MULTIPROC_DIR is
    set (prefork children write there), plus the queue lengths on a Redis broker."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    broker = get_settings().broker_url or ""
    if broker.startswith(("redis://", "rediss://")):
        registry.register(QueueLengthCollector(broker))
    return registry


@signals.worker_ready.connect
def _start_metrics_endpoint(**_: Any) -> None:
    settings = get_settings()
    if not settings.WORKER_METRICS_PORT:
        return
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        logger.warning(
            "WORKER_METRICS_PORT without PROMETHEUS_MULTIPROC_DIR: task metrics of prefork "
            "pool processes are not visible on the endpoint"
        )
    start_http_server(settings.WORKER_METRICS_PORT, addr=settings.HOST, registry=metrics_registry())
    logger.info("worker metrics on %s:%s", settings.HOST, settings.WORKER_METRICS_PORT)


@signals.worker_process_shutdown.connect
def _forget_dead_process(pid: int | None = None, **_: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


# --- health ping ----------------------------------------------------------------------------


@celery_app.task(name="default.ping", ignore_result=True, acks_late=True)
def ping(nonce: str, hold_seconds: float = 0.0) -> None:
    """Count one pong for `nonce` in Redis, after holding the message `hold_seconds` (drills
    use the hold to stop a worker while it runs a task)."""
    from app.core.redis import get_redis

    time.sleep(max(0.0, min(float(hold_seconds), MAX_HOLD_SECONDS)))
    client = get_redis()
    if client is None:
        logger.info("ping %s answered (no Redis to record it)", nonce)
        return
    key = PONG_KEY.format(nonce=nonce)
    client.incr(key)
    client.expire(key, PONG_TTL_SECONDS)
