"""Queries of the announcements module."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import CursorResult, Select, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.modules.announcements.models import Announcement, AnnouncementDelivery
from app.modules.courses.models import (
    ENROLLED_STATUSES,
    Cohort,
    CohortMember,
    Course,
    Enrollment,
)
from app.modules.users.models import User


def list_query(
    course_id: uuid.UUID, *, everything: bool, cohort_id: uuid.UUID | None
) -> Select[Announcement]:
    """A course's announcements, newest first: all of them (`everything`, for managers), or
    the published ones addressed to the course or to `cohort_id`."""
    statement = select(Announcement).where(Announcement.course_id == course_id)
    if not everything:
        statement = statement.where(
            Announcement.published_at.is_not(None),
            or_(Announcement.cohort_id.is_(None), Announcement.cohort_id == cohort_id)
            if cohort_id is not None
            else Announcement.cohort_id.is_(None),
        )
    newest = func.coalesce(
        Announcement.published_at, Announcement.publish_at, Announcement.created_at
    )
    return statement.order_by(newest.desc(), Announcement.id.desc())


def get(db: Session, announcement_id: uuid.UUID) -> Announcement | None:
    return db.get(Announcement, announcement_id)


def cohort_of(db: Session, *, course_id: uuid.UUID, student_id: uuid.UUID) -> uuid.UUID | None:
    return db.scalar(
        select(CohortMember.cohort_id).where(
            CohortMember.course_id == course_id, CohortMember.student_id == student_id
        )
    )


def cohort_in_course(db: Session, *, cohort_id: uuid.UUID, course_id: uuid.UUID) -> bool:
    return bool(
        db.scalar(select(exists().where(Cohort.id == cohort_id, Cohort.course_id == course_id)))
    )


def due_for_publishing(db: Session, now: datetime) -> Sequence[uuid.UUID]:
    return db.scalars(
        select(Announcement.id).where(
            Announcement.published_at.is_(None), Announcement.publish_at <= now
        )
    ).all()


def publish(db: Session, announcement_id: uuid.UUID, now: datetime) -> bool:
    """Mark one scheduled announcement published; False when another run already did
    (one conditional UPDATE, so of two concurrent runs exactly one wins)."""
    result = db.execute(
        update(Announcement)
        .where(Announcement.id == announcement_id, Announcement.published_at.is_(None))
        .values(published_at=now)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def undelivered_since(db: Session, before: datetime) -> Sequence[uuid.UUID]:
    """Published before `before` and not yet delivered to everyone: a fan-out that stopped."""
    return db.scalars(
        select(Announcement.id).where(
            Announcement.published_at <= before, Announcement.delivered_at.is_(None)
        )
    ).all()


def recipients_after(
    db: Session, announcement: Announcement, *, after: uuid.UUID | None, limit: int
) -> Sequence[User]:
    """The next `limit` addressed students by id (keyset pagination: constant memory and
    cost per batch however many there are) who have no delivery row yet: active users with
    an active or completed enrollment, in the announcement's cohort when it has one."""
    statement = (
        select(User)
        .join(Enrollment, Enrollment.student_id == User.id)
        .where(
            Enrollment.course_id == announcement.course_id,
            Enrollment.status.in_(ENROLLED_STATUSES),
            User.is_active.is_(True),
            ~exists().where(
                AnnouncementDelivery.announcement_id == announcement.id,
                AnnouncementDelivery.recipient_id == User.id,
            ),
        )
    )
    if announcement.cohort_id is not None:
        statement = statement.join(
            CohortMember,
            (CohortMember.student_id == User.id)
            & (CohortMember.cohort_id == announcement.cohort_id),
        )
    if after is not None:
        statement = statement.where(User.id > after)
    return db.scalars(statement.order_by(User.id).limit(limit)).all()


def claim_deliveries(
    db: Session, announcement_id: uuid.UUID, recipient_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Insert a delivery row per recipient, skipping those that exist (another run's);
    the ids this call inserted. Held by this transaction until it commits, so a concurrent
    run waits for it, then skips them."""
    if not recipient_ids:
        return set()
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(AnnouncementDelivery)
        .values(
            [{"announcement_id": announcement_id, "recipient_id": rid} for rid in recipient_ids]
        )
        .on_conflict_do_nothing(index_elements=["announcement_id", "recipient_id"])
        .returning(AnnouncementDelivery.recipient_id)
    )
    return set(db.scalars(statement).all())


def course_title(db: Session, course_id: uuid.UUID) -> str:
    return db.scalar(select(Course.title).where(Course.id == course_id)) or ""
