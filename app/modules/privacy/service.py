"""Data exports (built in the background, downloaded through a signed, expiring link) and
erasures (administrators, audited, idempotent)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import session_scope, utcnow
from app.core.errors import BusinessRuleViolation, NotFound
from app.core.pagination import PageParams
from app.core.permissions import Role
from app.core.storage import get_storage
from app.core.tasks import defer
from app.modules.privacy import repository
from app.modules.privacy.erasure import erase
from app.modules.privacy.exports import build_zip
from app.modules.privacy.models import DataExport, Erasure, ExportStatus
from app.modules.users import service as users_service
from app.modules.users.models import User

logger = logging.getLogger("app.privacy")


class ExportNotFound(NotFound):
    code = "export_not_found"


@dataclass(frozen=True)
class ExportView:
    export: DataExport
    download_url: str | None
    download_expires_at: datetime | None


def start_export(db: Session, *, user_id: uuid.UUID, requested_by: User) -> ExportView:
    """Queue an export of `user_id`'s data (their own, or any account's for an admin)."""
    subject = users_service.get_visible_user(db, viewer=requested_by, user_id=user_id)
    export = DataExport(
        user_id=subject.id, requested_by_id=requested_by.id, status=ExportStatus.QUEUED.value
    )
    db.add(export)
    db.flush()
    from app.modules.privacy.tasks import build_data_export

    defer(db, build_data_export, str(export.id))
    return ExportView(export, None, None)


def get_export(
    db: Session, *, user_id: uuid.UUID, export_id: uuid.UUID, viewer: User
) -> ExportView:
    """An export of `user_id` as `viewer` may see it (the person, or an admin); a ready one
    comes with a fresh signed link."""
    export = repository.get_export(db, export_id)
    allowed = viewer.role == Role.ADMIN.value or viewer.id == user_id
    if export is None or export.user_id != user_id or not allowed:
        raise ExportNotFound("Export not found")
    return _view(export)


def list_exports(
    db: Session, *, user_id: uuid.UUID, viewer: User, params: PageParams
) -> tuple[list[ExportView], int]:
    """One page of `user_id`'s exports as `viewer` may see them (the person, or an admin: 404
    for an account they cannot see), newest first, each ready one with a fresh signed link."""
    subject = users_service.get_visible_user(db, viewer=viewer, user_id=user_id)
    exports, total = repository.exports_page(db, subject.id, params)
    return [_view(export) for export in exports], total


def _view(export: DataExport) -> ExportView:
    if export.status != ExportStatus.READY.value or export.storage_key is None:
        return ExportView(export, None, None)
    seconds = get_settings().DATA_EXPORT_LINK_EXPIRE_MINUTES * 60
    stamp = utcnow().strftime("%Y%m%d")
    url = get_storage("uploads").create_download_url(
        export.storage_key,
        expires_seconds=seconds,
        filename=f"data-export-{stamp}.zip",
        content_type="application/zip",
    )
    return ExportView(export, url, utcnow() + timedelta(seconds=seconds))


def execute_export(export_id: uuid.UUID) -> None:
    """Build a queued export (the task's body)."""
    with session_scope() as db:
        export = repository.get_export(db, export_id)
        if export is None or export.status != ExportStatus.QUEUED.value:
            return
        export.status = ExportStatus.RUNNING.value
        user_id = export.user_id
    key = f"exports/{export_id}.zip"
    try:
        with session_scope() as db, build_zip(db, user_id) as archive:
            get_storage("uploads").save(key, archive, content_type="application/zip")
            size = archive.tell()
    except Exception:
        logger.exception("data export %s failed", export_id)
        with session_scope() as db:
            failed = repository.get_export(db, export_id)
            if failed is not None:
                failed.status = ExportStatus.FAILED.value
                failed.failure = "The export could not be built; ask for a new one"
                failed.finished_at = utcnow()
        return
    with session_scope() as db:
        ready = repository.get_export(db, export_id)
        if ready is None:
            # The person was erased meanwhile: the zip must not outlive the row.
            get_storage("uploads").delete(key)
            return
        ready.status = ExportStatus.READY.value
        ready.storage_key = key
        ready.size_bytes = size
        ready.finished_at = utcnow()


def erase_user(db: Session, *, admin: User, user_id: uuid.UUID, reason: str) -> Erasure:
    """Erase a person's personal data (admin); a second call answers with the first record."""
    done = repository.erasure_of(db, user_id)
    if done is not None:
        return done
    if user_id == admin.id:
        raise BusinessRuleViolation(
            "Administrators cannot erase their own account", code="self_lockout"
        )
    # Locked: two simultaneous erasures of one person run one after the other.
    user = db.get(User, user_id, with_for_update=True)
    if user is None:
        raise users_service.UserNotFound("User not found")
    done = repository.erasure_of(db, user_id)
    if done is not None:
        return done
    summary = erase(db, user)
    record = Erasure(user_id=user.id, performed_by_id=admin.id, reason=reason, summary=summary)
    db.add(record)
    db.flush()
    return record
