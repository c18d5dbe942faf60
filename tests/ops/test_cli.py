"""The `lms` command itself: start-up imports, one-line errors, missing or unmigrated
databases, passwords without a terminal."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from app.cli import describe, main
from app.core.config import Settings
from tests.live import ROOT

HEAVY = ("app.main", "fastapi", "sqlalchemy", "pydantic")


def run_lms(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def bare_env() -> dict[str, str]:
    """The environment with none of the application's settings: the defaults apply."""
    names = set(Settings.model_fields) | {"LMS_USER_PASSWORD"}
    return {k: v for k, v in os.environ.items() if k not in names and not k.startswith("PYTEST")}


@pytest.mark.parametrize("argv", [["--help"], ["create-user", "--help"]])
def test_help_does_not_import_the_application(argv: list[str]) -> None:
    code = (
        "import json, sys\n"
        "from app.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    *help_lines, loaded = completed.stdout.strip().splitlines()
    assert json.loads(loaded) == []
    if argv == ["--help"]:
        for command in ("serve", "migrate", "create-user", "seed-demo", "postman", "worker"):
            assert command in "\n".join(help_lines)


def test_outside_the_project_folder_says_run_migrate_and_creates_nothing(tmp_path: Path) -> None:
    completed = run_lms(
        "create-user", "--email", "a@example.com", "--full-name", "A", "--password",
        "Admin-pass-123", cwd=tmp_path, env=bare_env(),
    )  # fmt: skip
    assert completed.returncode == 1
    (line,) = completed.stderr.strip().splitlines()
    assert "run `lms migrate` first" in line
    assert str(tmp_path / "var" / "lms.db") in line
    assert not (tmp_path / "var").exists()


def test_an_unmigrated_database_says_run_migrate(tmp_path: Path) -> None:
    database = tmp_path / "empty.db"
    sqlite3.connect(database).close()
    completed = run_lms(
        "create-user", "--email", "a@example.com", "--full-name", "A", "--password",
        "Admin-pass-123", cwd=tmp_path, env={**bare_env(), "DATABASE_URL": f"sqlite:///{database}"},
    )  # fmt: skip
    assert completed.returncode == 1
    (line,) = completed.stderr.strip().splitlines()
    assert "not migrated" in line and "run `lms migrate` first" in line
    assert "Traceback" not in completed.stderr


def test_create_user_without_a_password_or_a_terminal(tmp_path: Path) -> None:
    completed = run_lms(
        "create-user", "--email", "a@example.com", "--full-name", "A",
        cwd=tmp_path, env=bare_env(),
    )  # fmt: skip
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines() == [
        "lms create-user: no password: pass --password or set LMS_USER_PASSWORD"
    ]


def test_an_unexpected_error_is_one_line_unless_debug(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing-folder" / "openapi.json"
    assert main(["openapi", "--output", str(target)]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("lms openapi: FileNotFoundError: ")
    assert "--debug shows the traceback" in line
    with pytest.raises(FileNotFoundError):
        main(["--debug", "openapi", "--output", str(target)])


def test_a_missing_table_is_described_as_an_unmigrated_database(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(OperationalError) as caught, engine.connect() as connection:
        connection.execute(text("SELECT * FROM users"))
    engine.dispose()
    assert describe(caught.value) == "the database has no tables: run `lms migrate` first"


def test_serve_feeds_the_served_address_to_public_base_url(
    monkeypatch: pytest.MonkeyPatch, env: Any
) -> None:
    import uvicorn

    from app.core.config import get_settings

    env(PUBLIC_BASE_URL="")
    # Recorded so that the test's end restores them; `lms serve` sets them for its workers.
    monkeypatch.setenv("HOST", "127.0.0.1")
    monkeypatch.setenv("PORT", "8000")
    seen: dict[str, Any] = {}

    def fake_run(*_args: Any, **kwargs: Any) -> None:
        seen.update(kwargs, public_base_url=get_settings().PUBLIC_BASE_URL)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    assert main(["serve", "--port", "9000"]) == 0
    assert (seen["port"], seen["public_base_url"]) == (9000, "http://127.0.0.1:9000")
    assert os.environ["PORT"] == "9000"  # worker processes inherit it


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"PORT": 9000}, "http://127.0.0.1:9000"),
        ({"HOST": "0.0.0.0", "PORT": 9000}, "http://127.0.0.1:9000"),
        ({"HOST": "lms.internal"}, "http://lms.internal:8000"),
        ({"PUBLIC_BASE_URL": "https://lms.example.com", "PORT": 9000}, "https://lms.example.com"),
    ],
)
def test_public_base_url_defaults_to_the_served_address(
    overrides: dict[str, Any], expected: str
) -> None:
    values: dict[str, Any] = {"_env_file": None, "PUBLIC_BASE_URL": "", **overrides}
    url = Settings(**values).PUBLIC_BASE_URL
    assert url == expected
