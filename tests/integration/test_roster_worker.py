"""A roster import queued by the request is run by a real Celery worker on the Redis broker,
which reports its progress on the import and mails the invitations to a real SMTP server."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.redis import get_redis
from tests.factories import bearer_headers
from tests.integration.test_email_worker import _Inbox, _text, smtp_server, worker_env
from tests.live import background
from tests.modules.rostering.samples import roster_zip, sample_roster

pytestmark = [pytest.mark.redis, pytest.mark.slow]

__all__ = ["smtp_server", "worker_env"]


def test_the_worker_imports_and_invites(
    smtp_server: tuple[_Inbox, int],
    worker_env: dict[str, str],
    make_user: Any,
    tmp_path: Path,
) -> None:
    from app.main import create_app

    inbox, _port = smtp_server
    headers = bearer_headers(make_user(role="admin", email="admin@example.com"))
    with TestClient(create_app()) as client:
        queued = client.post(
            "/api/v1/rostering/oneroster",
            files={"file": ("roster.zip", roster_zip(sample_roster()), "application/zip")},
            headers=headers,
        )
        assert queued.status_code == 202, queued.text
        path = f"/api/v1/rostering/imports/{queued.json()['id']}"
        # The request only queued the import on the broker.
        broker = get_redis()
        assert broker is not None and broker.llen("default") == 1
        assert client.get(path, headers=headers).json()["status"] == "queued"

        worker_args = ("worker", "--pool", "solo", "--queues", "default,emails")
        with background(*worker_args, env=worker_env, log=tmp_path / "worker.log") as worker:
            deadline = time.monotonic() + 90
            body: dict[str, Any] = {}
            while time.monotonic() < deadline:
                body = client.get(path, headers=headers).json()
                if body["status"] in ("completed", "failed") and len(inbox.messages) >= 5:
                    break
                assert worker.poll() is None, "the worker exited"
                time.sleep(0.3)
        assert body["status"] == "completed", body
        assert body["rows_done"] == body["rows_total"] == 22
        assert body["summary"]["enrollments"]["created"] == 5
        invited = {m["To"]: _text(m) for m in inbox.messages}
        assert set(invited) == {
            "tess.teacher@school.example",
            "adam.admin@school.example",
            "sara.student@school.example",
            "sam.pupil@school.example",
            "sol.learner@school.example",
        }
        match = re.search(r"Token: (\S+)", invited["sara.student@school.example"])
        assert match
        reset = client.post(
            "/api/v1/auth/reset-password",
            json={"token": match.group(1), "new_password": "Chosen-by-Sara-1"},
        )
        assert reset.status_code == 200, reset.text
