"""A real Celery worker process on the Redis broker delivers the password-reset mail to a
real SMTP server, and the token in that mail resets the password."""

from __future__ import annotations

import email
import itertools
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from app.core.redis import get_redis
from tests.live import background, free_port

pytestmark = [pytest.mark.redis, pytest.mark.slow]

API = "/api/v1"


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    port = free_port()  # aiosmtpd cannot bind port 0 and report it back
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def worker_env(env: Any, smtp_server: tuple[_Inbox, int]) -> dict[str, str]:
    _inbox, port = smtp_server
    redis_url = os.environ["REDIS_URL"]
    settings = {
        "EMAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_USE_TLS": "false",
        "SMTP_USE_SSL": "false",
        "TASKS_FORCE_INLINE": "false",
        "CELERY_BROKER_URL": redis_url,
        "REDIS_URL": redis_url,
    }
    env(**settings)
    return {**os.environ, **settings}


@pytest.fixture
def start_worker(
    worker_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    starts = itertools.count(1)
    with ExitStack() as stack:

        def _start() -> subprocess.Popen[bytes]:
            log = tmp_path / f"worker-{next(starts)}.log"
            return stack.enter_context(
                background(
                    "worker", "--pool", "solo", "--queues", "emails", env=worker_env, log=log
                )
            )

        yield _start


def _wait_for(inbox: _Inbox, worker: subprocess.Popen[bytes], timeout: float = 60) -> Message:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if inbox.messages:
            return inbox.messages[0]
        assert worker.poll() is None, "the worker exited"
        time.sleep(0.2)
    raise AssertionError("no mail reached the SMTP server")


def _text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text/plain part")


def test_reset_mail_goes_through_worker_and_smtp(
    smtp_server: tuple[_Inbox, int],
    start_worker: Callable[[], subprocess.Popen[bytes]],
    make_user: Any,
) -> None:
    from app.main import create_app

    inbox, _port = smtp_server
    make_user(email="learner@example.com")
    with TestClient(create_app()) as client:
        answered = client.post(f"{API}/auth/forgot-password", json={"email": "learner@example.com"})
        assert answered.status_code == 202
        # The request only queued the mail on the broker: nothing is sent in-process.
        broker = get_redis()
        assert broker is not None and broker.llen("emails") == 1
        time.sleep(1)
        assert inbox.messages == []

        message = _wait_for(inbox, start_worker())
        assert message["To"] == "learner@example.com"
        assert "Reset your" in message["Subject"]
        assert broker.llen("emails") == 0
        match = re.search(r"token: (\S+)", _text(message))
        assert match

        reset = client.post(
            f"{API}/auth/reset-password",
            json={"token": match.group(1), "new_password": "Reset-by-mail-5"},
        )
        assert reset.status_code == 200, reset.text
        signed_in = client.post(
            f"{API}/auth/login",
            json={"email": "learner@example.com", "password": "Reset-by-mail-5"},
        )
        assert signed_in.status_code == 200
        assert len(inbox.messages) == 1  # reset does not send anything else
