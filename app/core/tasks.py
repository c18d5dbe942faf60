"""The Celery app, queue routing, and `defer()`: enqueue a task once the transaction commits.

With no broker configured (embedded mode) or `TASKS_FORCE_INLINE=true`, deferred tasks run
in-process right after the commit. Tasks receive IDs and plain data, never ORM objects.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

from celery import Celery, Task, signals
from kombu import Queue
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import after_commit

logger = logging.getLogger("app.tasks")

QUEUES = ("default", "emails", "progress", "certificates", "webhooks", "payments")
# No task runs longer than this (the worker kills it); it gets a soft limit (an exception it
# can clean up after) first.
TASK_TIME_LIMIT_SECONDS = 180
TASK_SOFT_TIME_LIMIT_SECONDS = 120
# The longest retry countdown. A worker holds a task waiting for its countdown without
# acknowledging it, so the broker's visibility timeout must exceed this plus the time limit
# (CELERY_VISIBILITY_TIMEOUT_SECONDS, 900 s by default), or the task is handed to a second
# worker meanwhile and runs twice.
MAX_COUNTDOWN_SECONDS = 600


def _make_celery() -> Celery:
    settings = get_settings()
    app = Celery("lms")
    app.conf.update(
        broker_url=settings.broker_url or "memory://",
        result_backend=settings.CELERY_RESULT_BACKEND,
        task_ignore_result=settings.CELERY_RESULT_BACKEND is None,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        timezone="UTC",
        enable_utc=True,
        task_default_queue="default",
        task_queues=[Queue(name) for name in QUEUES],
        # Task names are "<queue>.<action>", so routing follows the name.
        task_routes=[_route_by_prefix],
        # A task is acknowledged only after it ran: a worker killed mid-task leaves it queued.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=TASK_SOFT_TIME_LIMIT_SECONDS,
        task_time_limit=TASK_TIME_LIMIT_SECONDS,
        # Reconnect to a broker that went away for as long as it takes, instead of giving
        # up (and exiting) after 100 attempts.
        broker_connection_retry=True,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        # A task running when the broker connection drops can no longer be acknowledged, so
        # the broker hands it out again: stop it rather than let it finish and run twice.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        broker_transport_options={
            "visibility_timeout": settings.CELERY_VISIBILITY_TIMEOUT_SECONDS,
            # Look for messages of dead workers every few seconds (kombu's default sweep is
            # every 10th 10-second tick, which can leave a task waiting ~100 s past its
            # visibility timeout); one ZRANGE per sweep is cheap.
            "unacked_restore_interval": max(
                1, min(10, settings.CELERY_VISIBILITY_TIMEOUT_SECONDS // 4)
            ),
            "unacked_restore_throttle": 1,
        },
        **_broker_transport(settings.broker_url),
        redis_max_connections=20,
        broker_pool_limit=10,
        task_always_eager=False,
    )
    return app


def _broker_transport(url: str | None) -> dict[str, Any]:
    """On Redis, kombu's transport with the fix that lets a worker outlive a Redis outage."""
    if not url or not url.startswith(("redis://", "rediss://")):
        return {}
    from app.core.broker import TRANSPORT

    options: dict[str, Any] = {"broker_transport": TRANSPORT}
    if url.startswith("rediss://"):
        # kombu turns TLS on from the URL's scheme only for its own transport name.
        options["broker_use_ssl"] = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    return options


def _route_by_prefix(
    name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any
) -> dict[str, str]:
    queue = name.split(".", 1)[0]
    return {"queue": queue if queue in QUEUES else "default"}


celery_app = _make_celery()


@signals.import_modules.connect
def _load_application_tasks(**_kwargs: Any) -> None:
    """Register every module's tasks in any Celery program (`celery -A ... worker` too)."""
    from app.core.registry import load_all

    load_all()


# Every task retries on any exception with exponential backoff and jitter, unless the task
# declares its own policy.
RETRY_POLICY: dict[str, Any] = {
    "autoretry_for": (Exception,),
    "retry_backoff": True,
    "retry_backoff_max": MAX_COUNTDOWN_SECONDS,
    "retry_jitter": True,
    "max_retries": get_settings().TASK_MAX_RETRIES,
}


def run_now(task: Task, *args: Any, **kwargs: Any) -> None:
    """Run a task in-process; failures are logged, never raised to the caller."""
    result = task.apply(args=args, kwargs=kwargs)
    if result.failed():
        logger.error("inline task %s failed: %r", task.name, result.result)


def send(task: Task, *args: Any, **kwargs: Any) -> None:
    """Enqueue now (outside any transaction), or run inline in embedded mode."""
    if get_settings().tasks_inline:
        run_now(task, *args, **kwargs)
        return
    try:
        task.apply_async(args=args, kwargs=kwargs)
    except Exception:
        # The broker is down: doing the work late in-process beats losing it.
        logger.exception("could not enqueue %s; running it inline", task.name)
        run_now(task, *args, **kwargs)


def defer(session: Session, task: Task, *args: Any, **kwargs: Any) -> None:
    """Send `task` once `session` commits; forget it if the transaction rolls back."""
    after_commit(session, lambda: send(task, *args, **kwargs))


# Task metrics, worker logging/Sentry and the ping task, in every process that runs tasks.
from app.core import worker_runtime  # noqa: E402, F401
