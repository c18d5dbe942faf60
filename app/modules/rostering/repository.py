"""Queries of roster imports and of the records they map, batch by batch (one statement per
batch and kind, never one per row)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select, text, tuple_
from sqlalchemy.orm import Session

from app.modules.courses.models import Course, Enrollment, Lesson
from app.modules.rostering.models import RosterImport, RosterImportError, RosterSource
from app.modules.users.models import User


def get_import(session: Session, import_id: uuid.UUID) -> RosterImport | None:
    return session.get(RosterImport, import_id)


def stalled_imports(session: Session, *, running: str, before: datetime) -> list[RosterImport]:
    """Imports still marked running whose last progress is older than `before`, locked so
    a finishing worker and this check do not both decide the outcome."""
    return list(
        session.scalars(
            select(RosterImport)
            .where(RosterImport.status == running, RosterImport.updated_at < before)
            .with_for_update(skip_locked=True)
        )
    )


def import_status(session: Session, import_id: uuid.UUID) -> str | None:
    return session.scalar(select(RosterImport.status).where(RosterImport.id == import_id))


def list_imports_statement() -> Select[RosterImport]:
    return select(RosterImport).order_by(RosterImport.created_at.desc(), RosterImport.id)


def errors_statement(import_id: uuid.UUID) -> Select[RosterImportError]:
    return (
        select(RosterImportError)
        .where(RosterImportError.import_id == import_id)
        .order_by(RosterImportError.file, RosterImportError.line)
    )


def first_errors(session: Session, import_id: uuid.UUID, limit: int) -> list[RosterImportError]:
    return list(session.scalars(errors_statement(import_id).limit(limit)))


def sources(session: Session, kind: str, sourced_ids: Collection[str]) -> dict[str, RosterSource]:
    if not sourced_ids:
        return {}
    rows = session.scalars(
        select(RosterSource).where(
            RosterSource.kind == kind, RosterSource.sourced_id.in_(list(sourced_ids))
        )
    )
    return {row.sourced_id: row for row in rows}


def sources_page(
    session: Session, kind: str, *, after: uuid.UUID | None, limit: int
) -> list[RosterSource]:
    """Mapped records of `kind` in id order, `limit` from the one after `after`."""
    statement = select(RosterSource).where(RosterSource.kind == kind)
    if after is not None:
        statement = statement.where(RosterSource.id > after)
    return list(session.scalars(statement.order_by(RosterSource.id).limit(limit)))


def delete_sources(session: Session, ids: Collection[uuid.UUID]) -> None:
    if ids:
        session.execute(
            delete(RosterSource)
            .where(RosterSource.id.in_(list(ids)))
            .execution_options(synchronize_session=False)
        )


# The tables an import fills; their planner statistics go stale while it writes them.
_IMPORTED_TABLES = ("roster_sources", "users", "courses", "enrollments")


def refresh_statistics(session: Session) -> None:
    """Have PostgreSQL sample the tables an import is filling. Without it, the statistics of
    a table that was nearly empty when the import began say "a few rows", and each lookup by
    sourcedId reads every row of its kind instead of descending the (kind, sourcedId) index:
    the import slows down as it goes. (SQLite plans from the indexes alone.)"""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE " + ", ".join(_IMPORTED_TABLES)))


def users_by_id(session: Session, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, User]:
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(list(ids))))}


def users_by_email(session: Session, emails: Collection[str]) -> dict[str, User]:
    if not emails:
        return {}
    return {u.email: u for u in session.scalars(select(User).where(User.email.in_(list(emails))))}


def courses_by_id(session: Session, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Course]:
    if not ids:
        return {}
    return {c.id: c for c in session.scalars(select(Course).where(Course.id.in_(list(ids))))}


def taken_slugs(session: Session, slugs: Collection[str]) -> set[str]:
    if not slugs:
        return set()
    return set(session.scalars(select(Course.slug).where(Course.slug.in_(list(slugs)))))


def enrollments_by_pair(
    session: Session, pairs: Collection[tuple[uuid.UUID, uuid.UUID]]
) -> dict[tuple[uuid.UUID, uuid.UUID], Enrollment]:
    """Enrollments by (student_id, course_id)."""
    if not pairs:
        return {}
    rows = session.scalars(
        select(Enrollment).where(
            tuple_(Enrollment.student_id, Enrollment.course_id).in_(list(pairs))
        )
    )
    return {(e.student_id, e.course_id): e for e in rows}


def enrollments_by_id(session: Session, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Enrollment]:
    if not ids:
        return {}
    rows = session.scalars(select(Enrollment).where(Enrollment.id.in_(list(ids))))
    return {e.id: e for e in rows}


def published_lesson_counts(session: Session, course_ids: Collection[uuid.UUID]) -> dict[Any, int]:
    if not course_ids:
        return {}
    rows = session.execute(
        select(Lesson.course_id, func.count())
        .where(Lesson.course_id.in_(list(course_ids)), Lesson.is_published.is_(True))
        .group_by(Lesson.course_id)
    )
    return {course_id: int(count) for course_id, count in rows}


def add_errors(session: Session, errors: Sequence[RosterImportError]) -> None:
    session.add_all(errors)


def sources_of_user(session: Session, user_id: uuid.UUID) -> list[RosterSource]:
    return list(session.scalars(select(RosterSource).where(RosterSource.local_id == user_id)))
