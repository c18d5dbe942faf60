"""Scheduled learning mail:

- weekly progress report (WEEKLY_REPORT_CRON): students with active enrollments;
- daily course reminder (COURSE_REMINDER_CRON): students with an active enrollment they
  have not opened for REMINDER_INACTIVE_DAYS.

Both are non-transactional mail: users who opted out (`email_opt_out`) are skipped. Each is
idempotent per period through `notification_sends`.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import session_scope, utcnow
from app.core.permissions import Role
from app.core.schedule import every
from app.core.tasks import RETRY_POLICY, celery_app
from app.modules.courses.models import Course
from app.modules.enrollments.models import Enrollment, EnrollmentStatus
from app.modules.notifications.models import NotificationSend
from app.modules.notifications.service import queue_email
from app.modules.users.models import User

logger = logging.getLogger("app.jobs")

WEEKLY_REPORT = "weekly_progress_report"
COURSE_REMINDER = "course_reminder"


def _local_now(now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(get_settings().SCHEDULE_TIMEZONE))


def weekly_period(now: datetime) -> str:
    year, week, _day = _local_now(now).isocalendar()
    return f"{year}-W{week:02d}"


def daily_period(now: datetime) -> str:
    return _local_now(now).date().isoformat()


def _not_sent(job: str, period: str) -> Any:
    return ~exists().where(
        NotificationSend.job == job,
        NotificationSend.user_id == User.id,
        NotificationSend.period == period,
    )


def _mailable_students() -> Any:
    return and_(
        User.role == Role.STUDENT.value,
        User.is_active.is_(True),
        User.email_opt_out.is_(False),
    )


def weekly_report_recipients(db: Session, *, period: str) -> Sequence[User]:
    """Students (mailable) with at least one active enrollment, not yet sent this week."""
    has_active = exists().where(
        Enrollment.student_id == User.id, Enrollment.status == EnrollmentStatus.ACTIVE.value
    )
    return db.scalars(
        select(User)
        .where(_mailable_students(), has_active, _not_sent(WEEKLY_REPORT, period))
        .order_by(User.id)
    ).all()


def _inactive_since() -> Any:
    return func.coalesce(Enrollment.last_accessed_at, Enrollment.enrolled_at)


def reminder_recipients(db: Session, *, period: str, cutoff: datetime) -> Sequence[User]:
    """Students (mailable) with an active enrollment untouched since `cutoff`, not yet
    reminded today."""
    stale = exists().where(
        Enrollment.student_id == User.id,
        Enrollment.status == EnrollmentStatus.ACTIVE.value,
        _inactive_since() < cutoff,
    )
    return db.scalars(
        select(User)
        .where(_mailable_students(), stale, _not_sent(COURSE_REMINDER, period))
        .order_by(User.id)
    ).all()


def _courses_by_student(
    db: Session, student_ids: list[uuid.UUID], *, cutoff: datetime | None = None
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Active enrollments of many students in one query (optionally only stale ones)."""
    frontend = get_settings().FRONTEND_URL.rstrip("/")
    statement = (
        select(
            Enrollment.student_id,
            Course.title,
            Course.slug,
            Enrollment.progress_percentage,
            Enrollment.completed_lessons_count,
            Enrollment.total_lessons_count,
        )
        .join(Course, Course.id == Enrollment.course_id)
        .where(
            Enrollment.student_id.in_(student_ids),
            Enrollment.status == EnrollmentStatus.ACTIVE.value,
        )
        .order_by(Enrollment.student_id, Course.title)
    )
    if cutoff is not None:
        statement = statement.where(_inactive_since() < cutoff)
    grouped: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for row in db.execute(statement):
        grouped[row.student_id].append(
            {
                "title": row.title,
                "url": f"{frontend}/courses/{row.slug}",
                "progress": int(row.progress_percentage),
                "completed_lessons": row.completed_lessons_count,
                "total_lessons": row.total_lessons_count,
            }
        )
    return grouped


def _mark_sent(db: Session, *, job: str, user: User, period: str) -> bool:
    """Claim (job, user, period); False when another run already has it."""
    try:
        with db.begin_nested():
            db.add(NotificationSend(job=job, user_id=user.id, period=period))
            db.flush()
    except IntegrityError:
        return False
    return True


def _send_batch(
    db: Session,
    *,
    job: str,
    period: str,
    users: Sequence[User],
    courses: dict[uuid.UUID, list[dict[str, Any]]],
) -> int:
    sent = 0
    for user in users:
        user_courses = courses.get(user.id)
        if not user_courses or not _mark_sent(db, job=job, user=user, period=period):
            continue
        queued = queue_email(
            db,
            to=user.email,
            template=job,
            context={"full_name": user.full_name, "period": period, "courses": user_courses},
            opted_out=user.email_opt_out,
            transactional=False,
        )
        sent += int(queued)
    return sent


def send_weekly_reports(db: Session, *, now: datetime) -> int:
    period = weekly_period(now)
    users = weekly_report_recipients(db, period=period)
    courses = _courses_by_student(db, [u.id for u in users])
    return _send_batch(db, job=WEEKLY_REPORT, period=period, users=users, courses=courses)


def send_course_reminders(db: Session, *, now: datetime) -> int:
    period = daily_period(now)
    cutoff = now - timedelta(days=get_settings().REMINDER_INACTIVE_DAYS)
    users = reminder_recipients(db, period=period, cutoff=cutoff)
    courses = _courses_by_student(db, [u.id for u in users], cutoff=cutoff)
    return _send_batch(db, job=COURSE_REMINDER, period=period, users=users, courses=courses)


# --- tasks -----------------------------------------------------------------------------------


@celery_app.task(name="emails.weekly_progress_report", **RETRY_POLICY)
def weekly_progress_report_job() -> int:
    with session_scope() as db:
        sent = send_weekly_reports(db, now=utcnow())
    logger.info("weekly progress reports queued: %d", sent)
    return sent


@celery_app.task(name="emails.course_reminders", **RETRY_POLICY)
def course_reminders_job() -> int:
    with session_scope() as db:
        sent = send_course_reminders(db, now=utcnow())
    logger.info("course reminders queued: %d", sent)
    return sent


every("weekly-progress-report", weekly_progress_report_job, setting="WEEKLY_REPORT_CRON")
every("course-reminders", course_reminders_job, setting="COURSE_REMINDER_CRON")
