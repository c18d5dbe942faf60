"""Roster imports: checked in the request (a malformed upload is refused before anything is
written), then applied by a background task that reports its progress row by row."""

from __future__ import annotations

import logging
import tempfile
import uuid
import zipfile
from datetime import datetime, timedelta
from typing import BinaryIO

from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import checkpointed_scope, session_scope, utcnow
from app.core.errors import NotFound
from app.core.pagination import PageParams, paginate
from app.core.storage import get_storage
from app.core.tasks import defer
from app.modules.auth import service as auth_service
from app.modules.rostering import repository
from app.modules.rostering.archive import (
    RosterTooLarge,
    count_rows,
    inspect_archive,
    max_upload_bytes,
)
from app.modules.rostering.importer import ImportRun, run_import
from app.modules.rostering.models import ImportStatus, RosterImport, RosterImportError
from app.modules.users.models import User

logger = logging.getLogger("app.rostering")

ERRORS_SHOWN = 100


STALLED = (
    "The import stopped making progress (its worker ended without finishing); the batches "
    "before it were applied. Upload the roster again: records already applied are updated, "
    "not duplicated."
)


class ImportNotFound(NotFound):
    code = "roster_import_not_found"


class ImportAbandoned(Exception):
    """The import was marked failed while its worker still ran: the worker stops."""


def fail_stalled_imports(db: Session, *, now: datetime) -> int:
    """Mark failed the running imports whose progress (`updated_at`, moved by every batch)
    is older than ROSTER_STALL_MINUTES: their worker died (killed, out of memory, the
    machine restarted) and nothing else would ever finish them. Returns how many."""
    before = now - timedelta(minutes=get_settings().ROSTER_STALL_MINUTES)
    stalled = repository.stalled_imports(db, running=ImportStatus.RUNNING.value, before=before)
    for record in stalled:
        logger.warning(
            "roster import %s stalled since %s: marked failed", record.id, record.updated_at
        )
        record.status = ImportStatus.FAILED.value
        record.failure = STALLED
        record.finished_at = now
        # Nobody will read the uploaded zip again.
        get_storage("uploads").delete(record.archive_key)
    db.flush()
    return len(stalled)


def _spool(source: BinaryIO) -> BinaryIO:
    """The upload copied to a temporary file, refused past the size limit while copying."""
    limit = max_upload_bytes()
    spooled = tempfile.TemporaryFile()  # noqa: SIM115
    size = 0
    while chunk := source.read(1024 * 1024):
        size += len(chunk)
        if size > limit:
            spooled.close()
            raise RosterTooLarge(
                f"The upload is larger than the {limit // (1024 * 1024)} MB limit",
                code="file_too_large",
                extra={"max_bytes": limit},
            )
        spooled.write(chunk)
    spooled.seek(0)
    return spooled


def start_import(db: Session, *, admin: User, source: BinaryIO, dry_run: bool) -> RosterImport:
    """Check the upload as a OneRoster 1.2 CSV zip, keep it, and queue its import."""
    spooled = _spool(source)
    try:
        checked = inspect_archive(spooled)
        spooled.seek(0)
        import_id = uuid.uuid4()
        key = f"rostering/{import_id}.zip"
        get_storage("uploads").save(key, spooled, content_type="application/zip")
    finally:
        spooled.close()
    record = RosterImport(
        id=import_id,
        created_by_id=admin.id,
        dry_run=dry_run,
        archive_key=key,
        files=checked.files,
        status=ImportStatus.QUEUED.value,
        summary={},
    )
    db.add(record)
    db.flush()
    from app.modules.rostering.tasks import run_roster_import

    defer(db, run_roster_import, str(record.id))
    return record


def get_import(db: Session, import_id: uuid.UUID) -> tuple[RosterImport, list[RosterImportError]]:
    fail_stalled_imports(db, now=utcnow())
    record = repository.get_import(db, import_id)
    if record is None:
        raise ImportNotFound("Roster import not found")
    return record, repository.first_errors(db, import_id, ERRORS_SHOWN)


def list_imports(db: Session, *, params: PageParams) -> tuple[list[RosterImport], int]:
    fail_stalled_imports(db, now=utcnow())
    return paginate(db, repository.list_imports_statement(), params)


def list_errors(
    db: Session, *, import_id: uuid.UUID, params: PageParams
) -> tuple[list[RosterImportError], int]:
    if repository.get_import(db, import_id) is None:
        raise ImportNotFound("Roster import not found")
    return paginate(db, repository.errors_statement(import_id), params)


def _download(key: str) -> BinaryIO:
    local = tempfile.TemporaryFile()  # noqa: SIM115
    for chunk in get_storage("uploads").open(key):
        local.write(chunk)
    local.seek(0)
    return local


def _finish(import_id: uuid.UUID, *, failure: str | None) -> None:
    with session_scope() as db:
        record = repository.get_import(db, import_id)
        # Already failed as stalled: that outcome stands.
        if record is None or record.status != ImportStatus.RUNNING.value:
            return
        record.status = (ImportStatus.FAILED if failure else ImportStatus.COMPLETED).value
        record.failure = failure
        record.finished_at = utcnow()


def execute_import(import_id: uuid.UUID) -> None:
    """Apply a queued import (the task's body): every batch commits on its own, so progress
    shows while it runs and a failure keeps the batches already applied."""
    with session_scope() as db:
        record = repository.get_import(db, import_id)
        if record is None or record.status != ImportStatus.QUEUED.value:
            return
        record.status = ImportStatus.RUNNING.value
        record.started_at = utcnow()
        key = record.archive_key
    failure: str | None = None
    try:
        with (
            _download(key) as local,
            zipfile.ZipFile(local) as archive,
            checkpointed_scope() as (session, checkpoint),
        ):
            record = session.get(RosterImport, import_id)
            assert record is not None
            record.rows_total = sum(count_rows(archive, name) for name in record.files)

            def step() -> None:
                checkpoint()
                if repository.import_status(session, import_id) != ImportStatus.RUNNING.value:
                    raise ImportAbandoned
                session.add(record)

            step()
            run = ImportRun(
                db=session,
                record=record,
                archive=archive,
                batch_size=get_settings().ROSTER_BATCH_SIZE,
                checkpoint=step,
            )
            run_import(run)
    except ImportAbandoned:
        logger.warning("roster import %s was marked failed while running: stopped", import_id)
    except Exception:
        logger.exception("roster import %s failed", import_id)
        failure = "The import stopped on an unexpected error; the batches before it were applied"
    finally:
        get_storage("uploads").delete(key)
        _finish(import_id, failure=failure)


def invite_users(user_ids: list[uuid.UUID]) -> int:
    """Invite the imported accounts that are active and still have no password (a retry
    after a partial failure does not invite twice one who chose a password meanwhile)."""
    with session_scope() as db:
        invited = 0
        for user in repository.users_by_id(db, user_ids).values():
            if user.is_active and user.password_hash is None:
                auth_service.invite(db, user_id=user.id, email=user.email, full_name=user.full_name)
                invited += 1
        return invited
