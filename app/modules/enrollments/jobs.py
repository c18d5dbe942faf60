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
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import session_scope, utcnow
from app.core.schedule import every
from app.core.tasks import RETRY_POLICY, celery_app
from app.modules.enrollments import mail_repository
from app.modules.notifications import repository as notifications_repository
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
        if not user_courses or not notifications_repository.claim_send(
            db, job=job, user_id=user.id, period=period
        ):
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
    users = mail_repository.weekly_report_recipients(db, job=WEEKLY_REPORT, period=period)
    courses = mail_repository.courses_by_student(db, [u.id for u in users])
    return _send_batch(db, job=WEEKLY_REPORT, period=period, users=users, courses=courses)


def send_course_reminders(db: Session, *, now: datetime) -> int:
    period = daily_period(now)
    cutoff = now - timedelta(days=get_settings().REMINDER_INACTIVE_DAYS)
    users = mail_repository.reminder_recipients(
        db, job=COURSE_REMINDER, period=period, cutoff=cutoff
    )
    courses = mail_repository.courses_by_student(db, [u.id for u in users], cutoff=cutoff)
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
