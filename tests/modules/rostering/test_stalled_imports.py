"""An import whose worker died is marked failed once its progress has not moved for
ROSTER_STALL_MINUTES (by the scheduled job, and whenever imports are read); a worker that
was only slow stops at its next batch instead of overwriting that outcome."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from app.core.config import get_settings
from app.core.database import session_scope, utcnow
from app.core.schedule import beat_schedule
from app.core.storage import get_storage
from app.modules.rostering import repository, service
from app.modules.rostering.archive import inspect_archive
from app.modules.rostering.models import ImportStatus, RosterImport
from tests.modules.rostering.samples import roster_zip, sample_roster

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=utcnow().tzinfo)


def _import(admin: Any, *, status: str, updated_at: datetime | None = None) -> uuid.UUID:
    """An import as the upload route leaves it (archive kept), in `status`, last moved at
    `updated_at`."""
    content = roster_zip(sample_roster())
    import_id = uuid.uuid4()
    key = f"rostering/{import_id}.zip"
    get_storage("uploads").save(key, io.BytesIO(content), content_type="application/zip")
    with session_scope() as session:
        session.add(
            RosterImport(
                id=import_id,
                created_by_id=admin.id,
                dry_run=False,
                archive_key=key,
                files=inspect_archive(io.BytesIO(content)).files,
                status=status,
                summary={},
            )
        )
    if updated_at is not None:
        with session_scope() as session:
            session.execute(
                update(RosterImport)
                .where(RosterImport.id == import_id)
                .values(updated_at=updated_at)
            )
    return import_id


def _read(import_id: uuid.UUID) -> RosterImport:
    with session_scope() as session:
        record = session.get(RosterImport, import_id)
        assert record is not None
        session.expunge(record)
        return record


def test_a_running_import_without_progress_is_failed_after_the_stall_time(admin: Any) -> None:
    stall = get_settings().ROSTER_STALL_MINUTES
    running = _import(admin, status=ImportStatus.RUNNING.value, updated_at=T0)
    finished = _import(admin, status=ImportStatus.COMPLETED.value, updated_at=T0)
    queued = _import(admin, status=ImportStatus.QUEUED.value, updated_at=T0)

    with session_scope() as session:
        assert service.fail_stalled_imports(session, now=T0 + timedelta(minutes=stall - 1)) == 0
    assert _read(running).status == "running"

    later = T0 + timedelta(minutes=stall + 1)
    with session_scope() as session:
        assert service.fail_stalled_imports(session, now=later) == 1
    record = _read(running)
    assert record.status == "failed"
    assert record.failure is not None and "stopped making progress" in record.failure
    assert record.finished_at == later
    assert not get_storage("uploads").exists(record.archive_key)
    assert _read(finished).status == "completed"
    assert _read(queued).status == "queued"
    # Checked again, nothing changes.
    with session_scope() as session:
        assert service.fail_stalled_imports(session, now=later + timedelta(hours=1)) == 0


def test_reading_an_import_fails_it_when_stalled(
    client: Any, admin: Any, auth_headers: Any
) -> None:
    stall = get_settings().ROSTER_STALL_MINUTES
    dead = _import(
        admin, status=ImportStatus.RUNNING.value, updated_at=utcnow() - timedelta(minutes=stall + 5)
    )
    alive = _import(
        admin, status=ImportStatus.RUNNING.value, updated_at=utcnow() - timedelta(minutes=1)
    )
    body = client.get(f"/api/v1/rostering/imports/{dead}", headers=auth_headers(admin)).json()
    assert body["status"] == "failed" and "stopped making progress" in body["failure"]
    listed = client.get("/api/v1/rostering/imports", headers=auth_headers(admin)).json()
    assert {item["id"]: item["status"] for item in listed["items"]} == {
        str(dead): "failed",
        str(alive): "running",
    }


def test_the_job_is_scheduled() -> None:
    import app.modules.rostering.jobs  # noqa: F401 - registers the job

    entry = beat_schedule(get_settings())["roster-fail-stalled-imports"]
    assert entry["task"] == "default.roster_fail_stalled_imports"


def test_a_slow_worker_marked_failed_stops_at_its_next_batch(
    admin: Any, env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env(ROSTER_BATCH_SIZE=1)
    import_id = _import(admin, status=ImportStatus.QUEUED.value)
    checks: list[uuid.UUID] = []
    import_status = repository.import_status

    def declared_stalled_after_one_batch(session: Any, checked: uuid.UUID) -> str | None:
        checks.append(checked)
        if len(checks) == 2:
            # Between two batches, the scheduled check decides the worker is gone.
            with session_scope() as other:
                assert service.fail_stalled_imports(other, now=utcnow() + timedelta(days=1)) == 1
        return import_status(session, checked)

    monkeypatch.setattr(repository, "import_status", declared_stalled_after_one_batch)
    service.execute_import(import_id)
    record = _read(import_id)
    assert len(checks) == 2
    # The worker's end did not turn the failure into a completion.
    assert record.status == "failed" and record.failure == service.STALLED
    assert record.rows_done == 1 < record.rows_total
