"""`lms create-user`, `lms worker` and `lms beat`."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.cli import build_parser, main
from app.core.database import session_scope
from app.core.security import verify_password
from app.modules.users.models import User


def _user(email: str) -> User | None:
    with session_scope() as session:
        return session.scalar(select(User).where(User.email == email))


def test_create_user_makes_a_verified_admin(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "create-user",
            "--email",
            "Root@Example.com",
            "--password",
            "Admin-pass-123",
            "--role",
            "admin",
            "--full-name",
            "Root",
        ]
    )
    assert code == 0
    assert "Created admin root@example.com" in capsys.readouterr().out
    user = _user("root@example.com")
    assert user is not None and user.role == "admin" and user.email_verified_at is not None
    assert verify_password("Admin-pass-123", user.password_hash)[0]


def test_create_user_refuses_existing_unless_update(
    make_user: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    make_user(email="teach@example.com", is_active=False)
    base = ["create-user", "--email", "teach@example.com", "--full-name", "Teacher"]
    assert main([*base, "--password", "Teach-pass-123", "--role", "instructor"]) == 1
    assert "--update-existing" in capsys.readouterr().err

    args = [*base, "--password", "Teach-pass-123", "--role", "instructor", "--update-existing"]
    assert main(args) == 0
    user = _user("teach@example.com")
    assert user is not None
    assert (user.role, user.full_name, user.is_active) == ("instructor", "Teacher", True)
    assert verify_password("Teach-pass-123", user.password_hash)[0]
    assert user.token_version == 1  # old sessions of the account ended


def test_create_user_applies_the_password_policy(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["create-user", "--email", "weak@example.com", "--full-name", "W", "--password", "weak"]
    assert main(args) == 1
    assert "Password is too weak" in capsys.readouterr().err
    assert _user("weak@example.com") is None


def test_create_user_reads_the_password_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LMS_USER_PASSWORD", "From-env-pass-1")
    assert main(["create-user", "--email", "env@example.com", "--full-name", "Env"]) == 0
    user = _user("env@example.com")
    assert user is not None and user.role == "student"
    assert verify_password("From-env-pass-1", user.password_hash)[0]


def test_worker_and_beat_start_celery_with_every_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.core.tasks import QUEUES, celery_app

    calls: dict[str, list[str]] = {}
    monkeypatch.setattr(celery_app, "worker_main", lambda argv: calls.__setitem__("worker", argv))
    monkeypatch.setattr(celery_app, "start", lambda argv: calls.__setitem__("beat", argv))
    assert main(["worker", "--concurrency", "2"]) == 0
    assert main(["beat"]) == 0
    worker = calls["worker"]
    assert worker[0] == "worker"
    assert worker[worker.index("--queues") + 1].split(",") == list(QUEUES)
    assert worker[worker.index("--concurrency") + 1] == "2"
    assert calls["beat"][0] == "beat"
    assert calls["beat"][calls["beat"].index("--schedule") + 1].endswith("celerybeat-schedule")
    assert "emails.send" in celery_app.tasks  # every module's tasks were loaded


def test_parser_lists_the_commands() -> None:
    help_text = build_parser().format_help()
    for command in ("create-user", "worker", "beat"):
        assert command in help_text


@pytest.mark.parametrize("email", ["student@sec.test", "not-an-email", "a@localhost"])
def test_create_user_refuses_an_address_sign_in_would_refuse(
    email: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """One email rule for every way an account is made: what the CLI creates can sign in."""
    args = ["create-user", "--email", email, "--full-name", "S", "--password", "Good-pass-123"]
    assert main(args) == 1
    assert "Refused: value is not a valid email address" in capsys.readouterr().err
    assert _user(email) is None


def test_an_account_made_by_the_cli_signs_in(client: Any) -> None:
    args = ["create-user", "--email", " Pat@Example.org ", "--full-name", "P"]
    assert main([*args, "--password", "Good-pass-123"]) == 0
    response = client.post(
        "/api/v1/auth/login", json={"email": "pat@example.org", "password": "Good-pass-123"}
    )
    assert response.status_code == 200, response.text
