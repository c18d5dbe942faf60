"""`lms backup`, `lms restore`, `lms restore-drill` on the test database: SQLite in the embedded
pass, PostgreSQL (pg_dump/pg_restore) in the services pass."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.cli import main
from app.cli.backup import backup_database, read_manifest, restore_drill
from app.core.database import session_scope
from app.modules.users.models import User


def user_count() -> int:
    with session_scope() as session:
        return int(session.execute(select(func.count()).select_from(User)).scalar_one())


def on_backend(dialect: str) -> None:
    if not os.environ["DATABASE_URL"].startswith(dialect):
        pytest.skip(f"the test database is not {dialect} in this pass")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    dialect = str(request.param)
    if dialect == "postgresql":
        request.applymarker(pytest.mark.postgres)
    on_backend(dialect)
    return dialect


def test_backup_writes_a_manifest_with_row_counts(
    backend: str, make_user: Callable[..., Any], tmp_path: Path
) -> None:
    for _ in range(3):
        make_user()
    result = backup_database(os.environ["DATABASE_URL"], tmp_path)
    manifest = read_manifest(result.path)
    assert manifest["dialect"] == backend
    assert manifest["row_counts"]["users"] == 3
    assert manifest["alembic_revision"]
    assert result.path.suffix == (".sqlite3" if backend == "sqlite" else ".dump")


def test_restore_drill_restores_into_a_scratch_database(
    backend: str, make_user: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    for _ in range(4):
        make_user()
    assert main(["restore-drill", "--fresh", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "OK:" in out and "users" in out
    # The live database is untouched by the drill.
    assert user_count() == 4


def test_drill_reports_a_backup_that_lost_rows(
    backend: str, make_user: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    make_user()
    make_user()
    result = backup_database(os.environ["DATABASE_URL"], tmp_path)
    manifest_file = result.path.with_name(result.path.name + ".json")
    manifest = json.loads(manifest_file.read_text())
    manifest["row_counts"]["users"] = 5  # what the database held when the backup was "taken"
    manifest_file.write_text(json.dumps(manifest))
    report = restore_drill(result.path, os.environ["DATABASE_URL"])
    assert not report.ok
    assert report.mismatches == {"users": (5, 2)}
    assert main(["restore-drill", str(result.path)]) == 1
    assert "MISMATCH" in capsys.readouterr().out


def test_a_tampered_backup_is_refused(
    backend: str, make_user: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    make_user()
    result = backup_database(os.environ["DATABASE_URL"], tmp_path)
    with result.path.open("ab") as handle:
        handle.write(b"garbage")
    assert main(["restore-drill", str(result.path)]) == 1
    assert "checksum" in capsys.readouterr().err


def test_restore_brings_back_the_backed_up_rows(
    backend: str, make_user: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    kept = make_user(email="kept@example.com")
    result = backup_database(os.environ["DATABASE_URL"], tmp_path)
    make_user(email="after-backup@example.com")
    assert user_count() == 2

    # Without --yes nothing happens.
    assert main(["restore", str(result.path)]) == 1
    assert user_count() == 2

    from app.core.database import reset_engine

    reset_engine()  # the restore replaces the database under any pooled connection
    assert main(["restore", str(result.path), "--yes"]) == 0
    reset_engine()
    with session_scope() as session:
        emails = set(session.execute(select(User.email)).scalars())
    assert emails == {kept.email}


def test_restore_refuses_a_backup_of_another_dialect(backend: str, tmp_path: Path) -> None:
    result = backup_database(os.environ["DATABASE_URL"], tmp_path)
    other = "postgresql+psycopg://u@127.0.0.1:1/x" if backend == "sqlite" else "sqlite:///x.db"
    assert main(["restore", str(result.path), "--yes", "--target-url", other]) == 1


def test_drill_without_any_backup_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["restore-drill", "--dir", str(tmp_path / "empty")]) == 1
    assert "no backup" in capsys.readouterr().err
