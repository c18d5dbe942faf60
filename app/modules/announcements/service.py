"""Course announcements: written by the course's managers, read by its enrolled students
(the course-wide ones and their cohort's), and delivered to each addressed student once by
a fan-out task (`tasks.py`) when published.

Editing: the title and body can be corrected at any time, also after publishing (students
see the correction; nobody is notified again); the audience (`cohort_id`) and the schedule
(`publish_at`) only before publishing. Deleting removes the announcement at any time; the
inbox entries already delivered stay.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import session_scope, utcnow
from app.core.errors import BusinessRuleViolation, Conflict, NotFound, PermissionDenied
from app.core.pagination import PageParams, paginate
from app.core.tasks import defer
from app.modules.announcements import repository
from app.modules.announcements.models import Announcement
from app.modules.announcements.schemas import AnnouncementCreate, AnnouncementUpdate
from app.modules.courses.access import Capability, course_access, get_owned_course
from app.modules.notifications.inbox import Message, notify_many
from app.modules.notifications.models import NotificationCategory
from app.modules.users.models import User


class AnnouncementNotFound(NotFound):
    code = "announcement_not_found"


def _check_cohort(db: Session, course_id: uuid.UUID, cohort_id: uuid.UUID | None) -> None:
    if cohort_id is not None and not repository.cohort_in_course(
        db, cohort_id=cohort_id, course_id=course_id
    ):
        raise BusinessRuleViolation("No such cohort in this course", code="invalid_cohort")


def _publish_after_commit(db: Session, announcement: Announcement) -> None:
    from app.modules.announcements.tasks import fan_out

    defer(db, fan_out, str(announcement.id))


def create(
    db: Session, *, course_id: uuid.UUID, user: User, data: AnnouncementCreate
) -> Announcement:
    get_owned_course(db, course_id=course_id, user=user, capability=Capability.CONTENT)
    _check_cohort(db, course_id, data.cohort_id)
    now = utcnow()
    announcement = Announcement(
        course_id=course_id,
        author_id=user.id,
        cohort_id=data.cohort_id,
        title=data.title,
        body=data.body,
        publish_at=data.publish_at,
        published_at=None if data.publish_at and data.publish_at > now else now,
    )
    db.add(announcement)
    db.flush()
    if announcement.published_at is not None:
        _publish_after_commit(db, announcement)
    return announcement


def _readable(db: Session, *, course_id: uuid.UUID, user: User) -> tuple[bool, uuid.UUID | None]:
    """(manager, the student's cohort) for a reader of the course's announcements."""
    access = course_access(db, course_id=course_id, user=user)
    if access.manager:
        return True, None
    if not access.enrolled:
        raise PermissionDenied("Enroll in the course to read this", code="enrollment_required")
    return False, repository.cohort_of(db, course_id=course_id, student_id=user.id)


def list_announcements(
    db: Session, *, course_id: uuid.UUID, user: User, params: PageParams
) -> tuple[list[Announcement], int]:
    manager, cohort_id = _readable(db, course_id=course_id, user=user)
    statement = repository.list_query(course_id, everything=manager, cohort_id=cohort_id)
    return paginate(db, statement, params)


def get_announcement(
    db: Session, *, course_id: uuid.UUID, announcement_id: uuid.UUID, user: User
) -> Announcement:
    manager, cohort_id = _readable(db, course_id=course_id, user=user)
    announcement = repository.get(db, announcement_id)
    if announcement is None or announcement.course_id != course_id:
        raise AnnouncementNotFound("Announcement not found")
    visible = manager or (
        announcement.published_at is not None and announcement.cohort_id in (None, cohort_id)
    )
    if not visible:
        raise AnnouncementNotFound("Announcement not found")
    return announcement


def _managed(
    db: Session, *, course_id: uuid.UUID, announcement_id: uuid.UUID, user: User
) -> Announcement:
    get_owned_course(db, course_id=course_id, user=user, capability=Capability.CONTENT)
    announcement = repository.get(db, announcement_id)
    if announcement is None or announcement.course_id != course_id:
        raise AnnouncementNotFound("Announcement not found")
    return announcement


def update(
    db: Session,
    *,
    course_id: uuid.UUID,
    announcement_id: uuid.UUID,
    user: User,
    data: AnnouncementUpdate,
) -> Announcement:
    announcement = _managed(db, course_id=course_id, announcement_id=announcement_id, user=user)
    changes = data.model_dump(exclude_unset=True)
    if announcement.published_at is not None and {"cohort_id", "publish_at"} & changes.keys():
        raise Conflict(
            "A published announcement keeps its audience and date; only its title and body "
            "can change",
            code="announcement_published",
        )
    if "cohort_id" in changes:
        _check_cohort(db, course_id, changes["cohort_id"])
    for name, value in changes.items():
        setattr(announcement, name, value)
    if "publish_at" in changes:
        publish_at = changes["publish_at"]
        if publish_at is None or publish_at <= utcnow():
            announcement.published_at = utcnow()
            _publish_after_commit(db, announcement)
    db.flush()
    return announcement


def delete(db: Session, *, course_id: uuid.UUID, announcement_id: uuid.UUID, user: User) -> None:
    announcement = _managed(db, course_id=course_id, announcement_id=announcement_id, user=user)
    db.delete(announcement)
    db.flush()


# --- publishing and fan-out ------------------------------------------------------------------


def publish_due(db: Session, *, now: datetime) -> int:
    """Publish the scheduled announcements whose time has come, and fan out again those
    published long ago but not delivered to everyone (their fan-out stopped). Returns how
    many fan-outs were started."""
    started = 0
    for announcement_id in repository.due_for_publishing(db, now):
        if repository.publish(db, announcement_id, now):
            announcement = repository.get(db, announcement_id)
            assert announcement is not None
            _publish_after_commit(db, announcement)
            started += 1
    stale = now - timedelta(seconds=get_settings().ANNOUNCEMENT_REDRIVE_AFTER_SECONDS)
    for announcement_id in repository.undelivered_since(db, stale):
        announcement = repository.get(db, announcement_id)
        assert announcement is not None
        _publish_after_commit(db, announcement)
        started += 1
    return started


def _message(announcement: Announcement, course_title: str) -> Message:
    settings = get_settings()
    return Message(
        title=f"{course_title}: {announcement.title}",
        body=announcement.body,
        url=f"{settings.FRONTEND_URL.rstrip('/')}/courses/{announcement.course_id}"
        f"/announcements/{announcement.id}",
    )


def deliver_batch(announcement_id: uuid.UUID, *, after: uuid.UUID | None) -> uuid.UUID | None:
    """Notify the next batch of addressed students in one transaction (their delivery rows
    and inbox entries commit together, emails are queued after the commit); the last
    student id of the batch, or None once everyone has been notified."""
    batch_size = get_settings().ANNOUNCEMENT_FANOUT_BATCH_SIZE
    with session_scope() as db:
        announcement = repository.get(db, announcement_id)
        if announcement is None or announcement.published_at is None:
            return None  # deleted, or unpublished: nothing to deliver
        recipients = repository.recipients_after(db, announcement, after=after, limit=batch_size)
        if not recipients:
            announcement.delivered_at = utcnow()
            return None
        claimed = repository.claim_deliveries(db, announcement.id, [r.id for r in recipients])
        course_title = repository.course_title(db, announcement.course_id)
        notify_many(
            db,
            [r for r in recipients if r.id in claimed],
            NotificationCategory.ANNOUNCEMENTS,
            _message(announcement, course_title),
        )
        return recipients[-1].id


def fan_out(announcement_id: uuid.UUID) -> None:
    """Deliver the announcement to every addressed student, batch after batch. Safe to run
    again or concurrently (after a crash, a redelivered task, the re-drive job): students
    with a delivery row are skipped, so each is notified exactly once."""
    after: uuid.UUID | None = None
    while True:
        after = deliver_batch(announcement_id, after=after)
        if after is None:
            return
