"""`lms worker` (a Celery worker on every queue) and `lms beat` (the scheduler).

Both keep retrying when Redis goes away and carry on in the same process once it is back
(`broker_connection_max_retries=None` and the transport in `app.core.broker`).
"""

from __future__ import annotations

import argparse
from typing import Any

from app.core.config import get_settings


def register(subparsers: Any) -> None:
    worker = subparsers.add_parser(
        "worker",
        description="Run a Celery worker on every queue. It reconnects to Redis after an "
        "outage by itself (no retry limit); tasks it was running come back after "
        "CELERY_VISIBILITY_TIMEOUT_SECONDS, webhook deliveries sooner through beat's re-drive.",
    )
    worker.add_argument("--concurrency", type=int, default=None, help="processes (default: CPUs)")
    worker.add_argument(
        "--queues", default=None, help="comma-separated queues (default: all of them)"
    )
    worker.add_argument("--pool", default=None, help="prefork (default), solo or threads")
    worker.add_argument("--loglevel", default=None, help="log level (default: LOG_LEVEL)")
    worker.set_defaults(handler=worker_command)

    beat = subparsers.add_parser("beat")
    beat.add_argument("--loglevel", default=None, help="log level (default: LOG_LEVEL)")
    beat.set_defaults(handler=beat_command)


def _celery_app() -> Any:
    from app.core.registry import load_all
    from app.core.tasks import celery_app

    # Importing every module's tasks and jobs registers them (and beat's schedule).
    load_all()
    return celery_app


def worker_command(args: argparse.Namespace) -> int:
    from app.core.tasks import QUEUES

    app = _celery_app()
    argv = [
        "worker",
        "--queues",
        args.queues or ",".join(QUEUES),
        "--loglevel",
        args.loglevel or get_settings().LOG_LEVEL,
    ]
    if args.concurrency:
        argv += ["--concurrency", str(args.concurrency)]
    if args.pool:
        argv += ["--pool", args.pool]
    app.worker_main(argv)
    return 0


def beat_command(args: argparse.Namespace) -> int:
    settings = get_settings()
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    app = _celery_app()
    app.start(
        [
            "beat",
            "--loglevel",
            args.loglevel or settings.LOG_LEVEL,
            # Last-run times live with the other runtime state, not in the working directory.
            "--schedule",
            str(settings.VAR_DIR / "celerybeat-schedule"),
        ]
    )
    return 0
