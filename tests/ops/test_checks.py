"""`lms check-smtp` against a real SMTP server (aiosmtpd), and `lms check-worker`'s refusals.
The worker round trip itself is exercised with a real worker in tests/integration."""

from __future__ import annotations

import email
from collections.abc import Callable, Iterator
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from app.cli import main
from tests.live import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(env: Callable[..., None]) -> Iterator[Inbox]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    env(SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_USE_TLS="false", SMTP_USE_SSL="false")
    try:
        yield inbox
    finally:
        controller.stop()


def test_check_smtp_reports_each_step(smtp: Inbox, capsys: pytest.CaptureFixture) -> None:
    assert main(["check-smtp"]) == 0
    out = capsys.readouterr().out
    assert "connect ... ok" in out and "NOOP ... ok (250)" in out
    assert smtp.messages == []


def test_check_smtp_sends_a_test_email(
    smtp: Inbox, env: Callable[..., None], capsys: pytest.CaptureFixture
) -> None:
    env(EMAIL_BACKEND="smtp")
    assert main(["check-smtp", "--to", "ops@example.com"]) == 0
    (message,) = smtp.messages
    assert message["To"] == "ops@example.com"
    assert "SMTP check" in message["Subject"]


def test_check_smtp_will_not_send_through_the_console_backend(
    smtp: Inbox, env: Callable[..., None]
) -> None:
    env(EMAIL_BACKEND="console")
    assert main(["check-smtp", "--to", "ops@example.com"]) == 1
    assert smtp.messages == []


def test_check_smtp_fails_on_an_unreachable_server(
    env: Callable[..., None], capsys: pytest.CaptureFixture
) -> None:
    env(SMTP_HOST="127.0.0.1", SMTP_PORT=str(free_port()), SMTP_PASSWORD="hunter2-secret")
    assert main(["check-smtp"]) == 1
    out = capsys.readouterr().out
    assert "FAILED: ConnectionRefusedError" in out
    assert "hunter2" not in out


def test_check_smtp_needs_a_host(env: Callable[..., None]) -> None:
    env(SMTP_HOST=None)
    assert main(["check-smtp"]) == 1


def test_check_worker_needs_a_broker(capsys: pytest.CaptureFixture) -> None:
    # The test configuration runs tasks inline: there is no worker to ask.
    assert main(["check-worker", "--timeout", "1"]) == 1
    assert "No broker" in capsys.readouterr().out


@pytest.mark.redis
def test_check_worker_times_out_without_a_worker(
    env: Callable[..., None], capsys: pytest.CaptureFixture
) -> None:
    import os

    env(TASKS_FORCE_INLINE="false", CELERY_BROKER_URL=os.environ["REDIS_URL"])
    assert main(["check-worker", "--timeout", "1", "--queues", "default"]) == 1
    assert "default: no answer" in capsys.readouterr().out


def test_check_worker_rejects_unknown_queues(
    env: Callable[..., None], capsys: pytest.CaptureFixture
) -> None:
    env(
        TASKS_FORCE_INLINE="false",
        CELERY_BROKER_URL="redis://127.0.0.1:1/0",
        REDIS_URL=("redis://127.0.0.1:1/0"),
    )
    assert main(["check-worker", "--queues", "default,nope"]) == 1
    assert "nope" in capsys.readouterr().err
