"""`lms backup`, `lms restore` and `lms restore-drill`.

- PostgreSQL: `pg_dump --format=custom` / `pg_restore` (the client tools must be on PATH). The
  row counts written to the manifest are taken in the very snapshot the dump reads
  (`pg_export_snapshot()` + `pg_dump --snapshot`), so they match the dump exactly even while
  the application keeps writing.
- SQLite: the online backup API (a consistent copy of a live WAL database), then an integrity
  check of the copy.

Every backup gets a manifest (`<backup>.json`: dialect, time, migration revision, SHA-256 and
row counts per table). The drill restores a backup into a scratch database (a temporary
file, or a temporary PostgreSQL database that is dropped afterwards) and compares row counts
with the manifest: a backup is only trusted once it has been restored.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess  # nosec B404 - runs pg_dump/pg_restore
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, inspect, select, table, text
from sqlalchemy.engine import URL, Connection, make_url

from app.core.config import get_settings

MANIFEST_SUFFIX = ".json"


class BackupError(RuntimeError):
    pass


def register(subparsers: Any) -> None:
    backup = subparsers.add_parser("backup")
    backup.add_argument("--dir", default="backups", help="folder for backups (default backups/)")
    backup.set_defaults(handler=backup_command)

    restore = subparsers.add_parser("restore")
    restore.add_argument("backup", help="backup file written by `lms backup`")
    restore.add_argument(
        "--target-url", default=None, help="database to restore into (default: DATABASE_URL)"
    )
    restore.add_argument("--yes", action="store_true", help="confirm replacing the data")
    restore.set_defaults(handler=restore_command)

    drill = subparsers.add_parser("restore-drill")
    drill.add_argument("backup", nargs="?", help="backup file (default: the newest in --dir)")
    drill.add_argument("--dir", default="backups", help="folder for backups (default backups/)")
    drill.add_argument("--fresh", action="store_true", help="take a new backup and drill it")
    drill.set_defaults(handler=restore_drill_command)


# --- shared helpers -------------------------------------------------------------------------


def row_counts(connection: Connection) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in sorted(inspect(connection).get_table_names()):
        statement = select(func.count()).select_from(table(name))
        counts[name] = int(connection.execute(statement).scalar_one())
    return counts


def _revision(counts: dict[str, int], connection: Connection) -> str | None:
    if "alembic_version" not in counts:
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + MANIFEST_SUFFIX)


def read_manifest(backup: Path) -> dict[str, Any]:
    path = manifest_path(backup)
    if not path.exists():
        raise BackupError(f"{path} is missing: only backups made by `lms backup` can be checked")
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("sha256") != sha256(backup):
        raise BackupError(f"{backup} does not match the checksum in its manifest")
    return manifest


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and an environment carrying it (never argv)."""
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (PostgreSQL client tools are needed)")
    return path


def _run(command: list[str], env: dict[str, str]) -> None:
    # The command is pg_dump/pg_restore from PATH with arguments built here, never user text.
    result = subprocess.run(  # noqa: S603  # nosec B603
        command, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()[-2000:]}")


# --- backup -----------------------------------------------------------------------------------


@dataclass
class BackupResult:
    path: Path
    manifest: dict[str, Any]


def backup_database(url_text: str, folder: Path) -> BackupResult:
    url = make_url(url_text)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    if url.get_backend_name() == "sqlite":
        path = folder / f"lms-{stamp}.sqlite3"
        counts, revision = _backup_sqlite(_sqlite_path(url), path)
        dialect = "sqlite"
    elif url.get_backend_name() == "postgresql":
        path = folder / f"lms-{stamp}.dump"
        counts, revision = _backup_postgres(url, path)
        dialect = "postgresql"
    else:
        raise BackupError(f"no backup method for {url.get_backend_name()}")
    manifest = {
        "file": path.name,
        "dialect": dialect,
        "created_at": datetime.now(UTC).isoformat(),
        "alembic_revision": revision,
        "sha256": sha256(path),
        "size_bytes": path.stat().st_size,
        "row_counts": counts,
    }
    manifest_path(path).write_text(json.dumps(manifest, indent=2) + "\n")
    return BackupResult(path, manifest)


def _backup_sqlite(source: Path, target: Path) -> tuple[dict[str, int], str | None]:
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as connection:
            check = connection.execute(text("PRAGMA integrity_check")).scalar()
            if check != "ok":
                raise BackupError(f"the copy failed its integrity check: {check}")
            # A standalone file: fold the WAL in so the backup is one self-contained file.
            connection.execute(text("PRAGMA journal_mode=DELETE"))
            counts = row_counts(connection)
            return counts, _revision(counts, connection)
    finally:
        engine.dispose()


def _backup_postgres(url: URL, target: Path) -> tuple[dict[str, int], str | None]:
    pg_dump = _tool("pg_dump")
    uri, env = _libpq(url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            # Counts and dump read one snapshot; the transaction stays open until pg_dump ends.
            connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            counts = row_counts(connection)
            revision = _revision(counts, connection)
            _run(
                [
                    pg_dump,
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={target}",
                    f"--dbname={uri}",
                ],
                env,
            )
            connection.rollback()
    finally:
        engine.dispose()
    return counts, revision


def backup_command(args: argparse.Namespace) -> int:
    try:
        result = backup_database(get_settings().DATABASE_URL, Path(args.dir))
    except BackupError as exc:
        print(f"Backup failed: {exc}", file=sys.stderr)
        return 1
    total = sum(result.manifest["row_counts"].values())
    print(
        f"Backup written: {result.path} ({result.manifest['size_bytes']} bytes, "
        f"{len(result.manifest['row_counts'])} tables, {total} rows)"
    )
    return 0


# --- restore ----------------------------------------------------------------------------------


def restore_database(backup: Path, target_url_text: str) -> dict[str, int]:
    """Replace the target database's content with `backup`; returns the restored row counts."""
    manifest = read_manifest(backup)
    url = make_url(target_url_text)
    if manifest["dialect"] != url.get_backend_name():
        raise BackupError(
            f"a {manifest['dialect']} backup cannot be restored into {url.get_backend_name()}"
        )
    if manifest["dialect"] == "sqlite":
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(backup) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
    else:
        pg_restore = _tool("pg_restore")
        uri, env = _libpq(url)
        _run(
            [
                pg_restore,
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={uri}",
                str(backup),
            ],
            env,
        )
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return row_counts(connection)
    finally:
        engine.dispose()


def restore_command(args: argparse.Namespace) -> int:
    target = args.target_url or get_settings().DATABASE_URL
    shown = make_url(target).render_as_string(hide_password=True)
    if not args.yes:
        print(f"This replaces every row of {shown}. Re-run with --yes to proceed.")
        return 1
    try:
        counts = restore_database(Path(args.backup), target)
    except BackupError as exc:
        print(f"Restore failed: {exc}", file=sys.stderr)
        return 1
    print(f"Restored {args.backup} into {shown}: {sum(counts.values())} rows")
    return 0


# --- drill ------------------------------------------------------------------------------------


@contextmanager
def scratch_database(dialect: str, like_url: URL) -> Iterator[str]:
    """A throwaway database of the same kind, removed afterwards."""
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory(prefix="lms-drill-") as folder:
            yield f"sqlite:///{Path(folder) / 'drill.db'}"
        return
    name = f"lms_restore_drill_{uuid.uuid4().hex[:12]}"
    admin = create_engine(like_url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield like_url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@dataclass
class DrillReport:
    backup: Path
    expected: dict[str, int]
    restored: dict[str, int]

    @property
    def mismatches(self) -> dict[str, tuple[int | None, int | None]]:
        names = set(self.expected) | set(self.restored)
        return {
            name: (self.expected.get(name), self.restored.get(name))
            for name in sorted(names)
            if self.expected.get(name) != self.restored.get(name)
        }

    @property
    def ok(self) -> bool:
        return not self.mismatches


def restore_drill(backup: Path, like_url_text: str) -> DrillReport:
    manifest = read_manifest(backup)
    with scratch_database(manifest["dialect"], make_url(like_url_text)) as scratch:
        restored = restore_database(backup, scratch)
    return DrillReport(backup, manifest["row_counts"], restored)


def newest_backup(folder: Path) -> Path:
    candidates = sorted(
        (p for p in folder.glob("lms-*") if not p.name.endswith(MANIFEST_SUFFIX)),
        key=lambda path: path.name,
    )
    if not candidates:
        raise BackupError(f"no backup in {folder}; run `lms backup` or pass --fresh")
    return candidates[-1]


def restore_drill_command(args: argparse.Namespace) -> int:
    url = get_settings().DATABASE_URL
    try:
        if args.fresh:
            backup = backup_database(url, Path(args.dir)).path
        elif args.backup:
            backup = Path(args.backup)
        else:
            backup = newest_backup(Path(args.dir))
        report = restore_drill(backup, url)
    except BackupError as exc:
        print(f"Restore drill failed: {exc}", file=sys.stderr)
        return 1
    print(f"Restore drill of {report.backup}")
    print(f"  {'table':<40} {'backup':>10} {'restored':>10}")
    for name in sorted(set(report.expected) | set(report.restored)):
        expected, restored = report.expected.get(name), report.restored.get(name)
        flag = "" if expected == restored else "  MISMATCH"
        print(f"  {name:<40} {expected!s:>10} {restored!s:>10}{flag}")
    if not report.ok:
        print(f"FAILED: {len(report.mismatches)} tables differ", file=sys.stderr)
        return 1
    print(f"OK: {len(report.restored)} tables, {sum(report.restored.values())} rows match.")
    return 0
