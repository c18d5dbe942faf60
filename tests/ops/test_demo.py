"""`lms seed-demo`: accounts, a published course with real activity, idempotence, snapshot."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.cli import main
from app.cli.demo import ACCOUNTS, DEMO_PASSWORD
from app.core.database import session_scope
from app.core.security import verify_password
from app.modules.certificates.models import Certificate
from app.modules.courses.models import Course
from app.modules.enrollments.models import Enrollment
from app.modules.users.models import User


def count(model: type) -> int:
    with session_scope() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_seed_demo_creates_a_complete_course_and_is_idempotent(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    snapshot_path = tmp_path / "demo_seed_snapshot.json"
    assert main(["seed-demo", "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "created" in out and DEMO_PASSWORD in out
    for email, _name, _role in ACCOUNTS.values():
        assert email in out
    first = json.loads(snapshot_path.read_text())
    assert (count(User), count(Course), count(Enrollment), count(Certificate)) == (5, 1, 3, 1)
    with session_scope() as session:
        statuses = sorted(session.execute(select(Enrollment.status)).scalars())
        course = session.execute(select(Course)).scalar_one()
    assert statuses == ["active", "active", "completed"]
    assert course.is_published
    ids = first["ids"]
    for key in (
        "course_id",
        "lesson_id",
        "quiz_id",
        "attempt_id",
        "enrollment_id",
        "assignment_id",
        "submission_id",
        "certificate_id",
        "certificate_number",
    ):
        assert ids[key], key

    # A second run adds nothing and reports the same ids.
    assert main(["seed-demo", "--output-dir", str(tmp_path)]) == 0
    assert "already present" in capsys.readouterr().out
    assert json.loads(snapshot_path.read_text())["ids"] == ids
    assert (count(User), count(Course), count(Enrollment), count(Certificate)) == (5, 1, 3, 1)


def test_seed_demo_resets_a_changed_demo_password(tmp_path: Path) -> None:
    assert main(["seed-demo", "--output-dir", str(tmp_path)]) == 0
    from app.core.security import hash_password

    with session_scope() as session:
        user = session.execute(
            select(User).where(User.email == "demo.student@example.com")
        ).scalar_one()
        user.password_hash = hash_password("Something-Else-1")
    assert main(["seed-demo", "--output-dir", str(tmp_path)]) == 0
    with session_scope() as session:
        user = session.execute(
            select(User).where(User.email == "demo.student@example.com")
        ).scalar_one()
        assert verify_password(DEMO_PASSWORD, user.password_hash)[0]


def test_seed_demo_refuses_production(
    env: Callable[..., None], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # Only the environment name changes: the refusal comes before anything is contacted.
    env(ENVIRONMENT="production")
    assert main(["seed-demo", "--output-dir", str(tmp_path)]) == 1
    assert "production" in capsys.readouterr().err
    assert count(User) == 0


def test_seed_demo_writes_this_installation_files_under_var(env: Callable[..., None]) -> None:
    from app.cli.postman import DEMO_ENVIRONMENT_FILE
    from app.core.config import get_settings

    env(PUBLIC_BASE_URL="", PORT="9000")
    tracked = Path(__file__).resolve().parents[2] / "postman"
    before = sorted(path.name for path in tracked.iterdir())
    assert main(["seed-demo"]) == 0
    folder = get_settings().VAR_DIR / "postman"
    snapshot = json.loads((folder / "demo_seed_snapshot.json").read_text())
    environment = json.loads((folder / DEMO_ENVIRONMENT_FILE).read_text())
    values = {entry["key"]: entry["value"] for entry in environment["values"]}
    # The environment holds this database's ids and the served address.
    assert values["course_id"] == snapshot["ids"]["course_id"]
    assert values["certificate_number"] == snapshot["ids"]["certificate_number"]
    assert values["student_email"] == ACCOUNTS["student"][0]
    assert values["base_url"] == "http://127.0.0.1:9000"
    assert sorted(path.name for path in tracked.iterdir()) == before
