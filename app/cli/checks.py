"""`lms check-smtp` and `lms check-worker`: operator checks that exercise the real path and say
which step failed (exit 1), without ever printing a credential."""

from __future__ import annotations

import argparse
import smtplib
import sys
import time
import uuid
from typing import Any

from app.core.config import get_settings
from app.modules.notifications.service import connect_smtp


def register(subparsers: Any) -> None:
    smtp = subparsers.add_parser("check-smtp")
    smtp.add_argument("--to", default=None, help="also send a test email to this address")
    smtp.set_defaults(handler=check_smtp_command)

    worker = subparsers.add_parser("check-worker")
    worker.add_argument("--timeout", type=float, default=30.0, help="seconds to wait")
    worker.add_argument(
        "--queues", default=None, help="comma-separated queues (default: all of them)"
    )
    worker.set_defaults(handler=check_worker_command)


def _step(name: str) -> None:
    print(f"  {name} ...", end=" ", flush=True)


def check_smtp_command(args: argparse.Namespace) -> int:
    settings = get_settings()
    if not settings.SMTP_HOST:
        print("SMTP_HOST is not set.", file=sys.stderr)
        return 1
    security = (
        "implicit TLS"
        if settings.SMTP_USE_SSL
        else ("STARTTLS" if settings.SMTP_USE_TLS else "no TLS")
    )
    print(f"SMTP {settings.SMTP_HOST}:{settings.SMTP_PORT} ({security})")
    try:
        _step("connect")
        smtp, context = connect_smtp()
        print("ok")
        with smtp:
            _step("EHLO")
            code, _ = smtp.ehlo()
            print(f"ok ({code})")
            if settings.SMTP_USE_TLS and not settings.SMTP_USE_SSL:
                _step("STARTTLS")
                smtp.starttls(context=context)
                smtp.ehlo()
                print("ok")
            if settings.SMTP_USERNAME and settings.SMTP_PASSWORD:
                _step(f"login as {settings.SMTP_USERNAME}")
                smtp.login(settings.SMTP_USERNAME, settings.SMTP_PASSWORD)
                print("ok")
            _step("NOOP")
            code, _ = smtp.noop()
            print(f"ok ({code})")
    except (OSError, smtplib.SMTPException) as exc:
        # The exception class and SMTP code say what failed; its text may echo credentials.
        smtp_code = getattr(exc, "smtp_code", None)
        print(f"FAILED: {type(exc).__name__} {smtp_code or ''}".rstrip())
        return 1
    if args.to:
        return _send_test_email(args.to)
    print("SMTP is reachable.")
    return 0


def _send_test_email(to: str) -> int:
    from app.modules.notifications.service import deliver, render_email

    settings = get_settings()
    if settings.EMAIL_BACKEND != "smtp":
        print(f"EMAIL_BACKEND is {settings.EMAIL_BACKEND}, not smtp: no test email sent.")
        return 1
    _step(f"send a test email to {to}")
    try:
        deliver(render_email("smtp_check", to, {"host": settings.SMTP_HOST}))
    except (OSError, smtplib.SMTPException) as exc:
        print(f"FAILED: {type(exc).__name__}")
        return 1
    print("ok")
    return 0


def check_worker_command(args: argparse.Namespace) -> int:
    from app.core.redis import get_redis
    from app.core.tasks import QUEUES
    from app.core.worker_runtime import PONG_KEY, ping

    settings = get_settings()
    if settings.tasks_inline:
        print("No broker is configured (tasks run inline): there is no worker to check.")
        return 1
    client = get_redis()
    if client is None:
        print("REDIS_URL is not set: workers record pings there.", file=sys.stderr)
        return 1
    queues = [q.strip() for q in (args.queues or ",".join(QUEUES)).split(",") if q.strip()]
    unknown = sorted(set(queues) - set(QUEUES))
    if unknown:
        print(f"Unknown queues: {', '.join(unknown)}", file=sys.stderr)
        return 1
    nonces = {queue: f"{queue}-{uuid.uuid4().hex}" for queue in queues}
    started = time.monotonic()
    try:
        for queue, nonce in nonces.items():
            ping.apply_async(args=(nonce,), queue=queue)
    except Exception as exc:
        print(f"Could not reach the broker: {type(exc).__name__}", file=sys.stderr)
        return 1
    pending = dict(nonces)
    answered: dict[str, float] = {}
    deadline = started + args.timeout
    while pending and time.monotonic() < deadline:
        for queue, nonce in list(pending.items()):
            if client.get(PONG_KEY.format(nonce=nonce)):
                answered[queue] = time.monotonic() - started
                del pending[queue]
        time.sleep(0.2)
    for queue in queues:
        if queue in answered:
            print(f"  {queue}: answered in {answered[queue]:.2f}s")
        else:
            print(f"  {queue}: no answer within {args.timeout:.0f}s")
    return 0 if not pending else 1
