"""Alembic is the only source of the schema: upgrade, downgrade to base, and no drift."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app.cli.database import alembic_config
from app.core.database import Base
from app.core.registry import load_models


def _config(url: str):  # type: ignore[no-untyped-def]
    config = alembic_config(url)
    config.attributes["configure_logger"] = False
    return config


def test_upgrade_downgrade_upgrade_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'migrations.db'}"
    config = _config(url)
    command.upgrade(config, "head")
    engine = create_engine(url)
    assert "users" in inspect(engine).get_table_names()
    command.downgrade(config, "base")
    assert inspect(engine).get_table_names() == ["alembic_version"]
    command.upgrade(config, "head")
    engine.dispose()


def test_models_match_migrations_on_the_test_database() -> None:
    """Autogenerate finds no difference (PostgreSQL in the services pass, else SQLite)."""
    load_models()
    engine = create_engine(os.environ["DATABASE_URL"])
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


@pytest.mark.postgres
def test_downgrade_to_base_and_back_on_postgresql() -> None:
    config = _config(os.environ["DATABASE_URL"])
    command.downgrade(config, "base")
    engine = create_engine(os.environ["DATABASE_URL"])
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(config, "head")
    assert "users" in inspect(engine).get_table_names()
    engine.dispose()


def test_lms_migrate_check_reports_agreement(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    upgrade = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    check = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate", "--check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    assert "agree" in check.stdout


def test_wait_for_db_succeeds_or_gives_up(tmp_path: Path) -> None:
    reachable = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'wait.db'}"}
    ok = subprocess.run(
        [sys.executable, "-m", "app.cli", "wait-for-db", "--timeout", "5"],
        env=reachable,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0 and "ready" in ok.stdout
    nowhere = {**os.environ, "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    failed = subprocess.run(
        [sys.executable, "-m", "app.cli", "wait-for-db", "--timeout", "1"],
        env=nowhere,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert failed.returncode == 1
    assert "not reachable" in failed.stderr
