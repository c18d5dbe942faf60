"""Alembic is the only source of the schema: upgrade, downgrade to base, and no drift."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app.cli.database import alembic_config
from app.core.database import Base, utcnow
from app.core.registry import load_models
from app.core.security import decrypt_mfa_secret


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


def _mfa_secrets_survive_0007(url: str) -> None:
    """0007 encrypts stored TOTP secrets under the configured key and its downgrade decrypts
    (from a database at head)."""
    config = _config(url)
    command.downgrade(config, "0006")
    users = sa.table(
        "users",
        *(sa.column(name, sa.String()) for name in ("email", "full_name", "role", "mfa_secret")),
        *(sa.column(name, sa.Boolean()) for name in ("is_active", "mfa_enabled", "email_opt_out")),
        sa.column("token_version", sa.Integer()),
        sa.column("id", sa.Uuid()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    plaintext = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    engine = create_engine(url)
    with engine.begin() as connection:
        for number, secret in enumerate((plaintext, None)):
            connection.execute(
                users.insert().values(
                    id=uuid.uuid4(),
                    email=f"mfa{number}@example.com",
                    full_name="MFA",
                    role="student",
                    mfa_secret=secret,
                    is_active=True,
                    mfa_enabled=secret is not None,
                    email_opt_out=False,
                    token_version=0,
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )
    stored = sa.select(users.c.mfa_secret).order_by(users.c.email)
    try:
        command.upgrade(config, "head")
        with engine.connect() as connection:
            encrypted, empty = connection.scalars(stored).all()
        assert empty is None
        assert encrypted is not None and plaintext not in encrypted
        assert decrypt_mfa_secret(encrypted) == (plaintext, False)

        command.downgrade(config, "0006")
        with engine.connect() as connection:
            assert connection.scalars(stored).all() == [plaintext, None]
    finally:
        command.upgrade(config, "head")
        engine.dispose()


def test_mfa_secret_data_migration_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mfa.db'}"
    command.upgrade(_config(url), "head")
    _mfa_secrets_survive_0007(url)


@pytest.mark.postgres
def test_mfa_secret_data_migration_on_postgresql() -> None:
    _mfa_secrets_survive_0007(os.environ["DATABASE_URL"])


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
