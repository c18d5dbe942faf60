"""Scheduled jobs (Celery beat) and their schedule.

- weekly progress report (WEEKLY_REPORT_CRON): students with active enrollments;
- daily course reminder (COURSE_REMINDER_CRON): students with an active enrollment they
  have not opened for REMINDER_INACTIVE_DAYS;
- expire subscriptions (SUBSCRIPTION_EXPIRY_CRON);
- reconcile payments left pending, by asking their gateway (PAYMENT_RECONCILIATION_CRON);
- clean expired refresh/one-time tokens and in-memory blacklist entries (TOKEN_CLEANUP_CRON);
- due-date reminders (DUE_REMINDER_CRON), a task of the calendar module.

Report and reminder are non-transactional mail: users who opted out (`email_opt_out`) are
skipped. Each is idempotent per period through `notification_sends`.
A schedule is a 5-field cron expression in SCHEDULE_TIMEZONE, or `every:<seconds>`.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from celery.schedules import crontab
from sqlalchemy import and_, delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.config import Settings, get_settings
from app.core.database import session_scope, utcnow
from app.core.errors import DomainError
from app.core.permissions import Role
from app.core.security import purge_memory_blacklist
from app.core.tasks import RETRY_POLICY, celery_app
from app.modules.auth.models import OneTimeToken, RefreshToken
from app.modules.courses.models import Course
from app.modules.enrollments.models import Enrollment, EnrollmentStatus
from app.modules.notifications.models import NotificationSend
from app.modules.notifications.service import queue_email
from app.modules.payments import service as payment_service
from app.modules.payments.gateways import StatusQuery
from app.modules.users.models import User

logger = logging.getLogger("app.jobs")

WEEKLY_REPORT = "weekly_progress_report"
COURSE_REMINDER = "course_reminder"
DUE_REMINDERS_TASK = "emails.due_date_reminders"


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


def clean_expired_tokens(db: Session, *, now: datetime) -> dict[str, int]:
    """Delete refresh and one-time tokens past their expiry (refused anyway, so nothing is
    lost, reuse detection included) and expired in-memory blacklist entries; Redis
    blacklist entries expire on their own TTL."""
    refresh = db.execute(delete(RefreshToken).where(RefreshToken.expires_at < now))
    one_time = db.execute(delete(OneTimeToken).where(OneTimeToken.expires_at < now))
    return {
        "refresh_tokens": int(getattr(refresh, "rowcount", 0) or 0),
        "one_time_tokens": int(getattr(one_time, "rowcount", 0) or 0),
        "blacklist_entries": purge_memory_blacklist(),
    }


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


@celery_app.task(name="payments.expire_subscriptions", **RETRY_POLICY)
def expire_subscriptions_job() -> int:
    with session_scope() as db:
        return payment_service.expire_subscriptions(db)


def _reconcile(query: StatusQuery) -> str:
    """`reconcile` one payment; whatever goes wrong is logged and left to the next run."""
    try:
        return payment_service.reconcile(query).status
    except DomainError as exc:
        # The service logged why (gateway unavailable, amount mismatch).
        logger.info("payment %s not reconciled: %s", query.payment_id, exc)
    except Exception:
        logger.exception("payment %s not reconciled", query.payment_id)
    return "error"


@celery_app.task(name="payments.reconcile_pending", **RETRY_POLICY)
def reconcile_payments_job() -> dict[str, int]:
    with session_scope() as db:
        queries = payment_service.claim_payments_to_reconcile(db, now=utcnow())
    outcomes = Counter(_reconcile(query) for query in queries)
    logger.info("pending payments reconciled: %s", dict(outcomes))
    return dict(outcomes)


@celery_app.task(name="default.clean_expired_tokens", **RETRY_POLICY)
def clean_expired_tokens_job() -> dict[str, int]:
    with session_scope() as db:
        return clean_expired_tokens(db, now=utcnow())


# --- schedule --------------------------------------------------------------------------------


def parse_schedule(expression: str) -> crontab | float:
    """A 5-field cron expression, or `every:<seconds>` (handy in development and tests)."""
    text = expression.strip()
    if text.startswith("every:"):
        seconds = float(text.split(":", 1)[1])
        if seconds <= 0:
            raise ValueError(f"schedule interval must be positive: {expression!r}")
        return seconds
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(f"cron expression needs 5 fields: {expression!r}")
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    return crontab(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
    )


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        "weekly-progress-report": {
            "task": weekly_progress_report_job.name,
            "schedule": parse_schedule(settings.WEEKLY_REPORT_CRON),
        },
        "course-reminders": {
            "task": course_reminders_job.name,
            "schedule": parse_schedule(settings.COURSE_REMINDER_CRON),
        },
        "expire-subscriptions": {
            "task": expire_subscriptions_job.name,
            "schedule": parse_schedule(settings.SUBSCRIPTION_EXPIRY_CRON),
        },
        "reconcile-payments": {
            "task": reconcile_payments_job.name,
            "schedule": parse_schedule(settings.PAYMENT_RECONCILIATION_CRON),
        },
        "clean-expired-tokens": {
            "task": clean_expired_tokens_job.name,
            "schedule": parse_schedule(settings.TOKEN_CLEANUP_CRON),
        },
        # Defined in app.modules.calendar.jobs (named here: calendar imports this package).
        "due-date-reminders": {
            "task": DUE_REMINDERS_TASK,
            "schedule": parse_schedule(settings.DUE_REMINDER_CRON),
        },
    }


_settings = get_settings()
# Cron fields are read in the schedule's time zone; task ETAs stay UTC either way.
celery_app.conf.update(timezone=_settings.SCHEDULE_TIMEZONE, beat_schedule=beat_schedule(_settings))
