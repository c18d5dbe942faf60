"""Scheduled jobs: who the report and the reminder go to, once per period, opt-out
respected; subscription expiry; token cleanup; the beat schedule."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from celery.schedules import crontab
from sqlalchemy import func, select

from app.core import schedule
from app.core.config import get_settings
from app.core.database import session_scope, utcnow
from app.modules.auth import jobs as auth_jobs
from app.modules.auth.models import RefreshToken
from app.modules.enrollments import jobs, mail_repository
from app.modules.notifications.models import NotificationSend
from app.modules.payments import jobs as payment_jobs
from tests.modules.payments.factories import (
    clear_outbox,
    create_course,
    create_enrollment,
    create_plan,
    create_subscription,
    outbox_entries,
)

# The task entry points read the clock, so the fixtures are relative to now.
NOW = utcnow()
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _empty_outbox() -> None:
    clear_outbox()


@pytest.fixture
def population(make_user: Any, instructor: Any) -> dict[str, Any]:
    course = create_course(instructor, title="Algebra")
    other = create_course(instructor, title="Biology")
    people = {
        "stale": make_user(email="stale@example.com"),
        "fresh": make_user(email="fresh@example.com"),
        "never_opened": make_user(email="never@example.com"),
        "opted_out": make_user(email="optout@example.com", email_opt_out=True),
        "completed": make_user(email="done@example.com"),
        "dropped": make_user(email="dropped@example.com"),
        "inactive_user": make_user(email="gone@example.com", is_active=False),
        "no_enrollment": make_user(email="none@example.com"),
    }
    long_ago = NOW - timedelta(days=8)
    create_enrollment(
        people["stale"], course, last_accessed_at=long_ago, enrolled_at=long_ago - timedelta(days=5)
    )
    create_enrollment(
        people["stale"], other, last_accessed_at=NOW - timedelta(days=1), enrolled_at=long_ago
    )
    create_enrollment(
        people["fresh"], course, last_accessed_at=NOW - timedelta(days=2), enrolled_at=long_ago
    )
    create_enrollment(people["never_opened"], course, enrolled_at=NOW - timedelta(days=10))
    create_enrollment(people["opted_out"], course, last_accessed_at=long_ago, enrolled_at=long_ago)
    create_enrollment(
        people["completed"],
        course,
        status="completed",
        last_accessed_at=long_ago,
        enrolled_at=long_ago,
    )
    create_enrollment(
        people["dropped"], course, status="dropped", last_accessed_at=long_ago, enrolled_at=long_ago
    )
    create_enrollment(
        people["inactive_user"], course, last_accessed_at=long_ago, enrolled_at=long_ago
    )
    create_enrollment(instructor, other, last_accessed_at=long_ago, enrolled_at=long_ago)
    return people


def _sent_to() -> list[str]:
    return sorted(entry["to"] for entry in outbox_entries())


def test_reminder_selects_students_inactive_for_the_configured_days(
    population: dict[str, Any],
) -> None:
    with session_scope() as db:
        users = mail_repository.reminder_recipients(
            db,
            job=jobs.COURSE_REMINDER,
            period=jobs.daily_period(NOW),
            cutoff=NOW - timedelta(days=get_settings().REMINDER_INACTIVE_DAYS),
        )
        assert sorted(u.email for u in users) == ["never@example.com", "stale@example.com"]


def test_reminders_are_sent_once_per_day(population: dict[str, Any]) -> None:
    with session_scope() as db:
        assert jobs.send_course_reminders(db, now=NOW) == 2
    with session_scope() as db:
        assert jobs.send_course_reminders(db, now=NOW) == 0
    assert _sent_to() == ["never@example.com", "stale@example.com"]
    stale_mail = next(e for e in outbox_entries() if e["to"] == "stale@example.com")
    # Only the course left untouched is mentioned.
    assert stale_mail["subject"] == "Pick up where you left off in Algebra"
    message = (get_settings().VAR_DIR / "outbox" / stale_mail["file"]).read_text()
    assert "Algebra" in message and "Biology" not in message
    with session_scope() as db:
        assert jobs.send_course_reminders(db, now=NOW + timedelta(days=1)) == 2
    with session_scope() as db:
        markers = db.scalar(
            select(func.count())
            .select_from(NotificationSend)
            .where(NotificationSend.job == jobs.COURSE_REMINDER)
        )
    assert markers == 4


def test_weekly_report_goes_to_students_with_active_enrollments_once_a_week(
    population: dict[str, Any],
) -> None:
    expected = ["fresh@example.com", "never@example.com", "stale@example.com"]
    with session_scope() as db:
        users = mail_repository.weekly_report_recipients(
            db, job=jobs.WEEKLY_REPORT, period=jobs.weekly_period(MONDAY)
        )
        assert sorted(u.email for u in users) == expected
        assert jobs.send_weekly_reports(db, now=MONDAY) == 3
    with session_scope() as db:
        assert jobs.send_weekly_reports(db, now=MONDAY + timedelta(days=3)) == 0
    assert _sent_to() == expected
    subject = next(e for e in outbox_entries() if e["to"] == "stale@example.com")["subject"]
    assert "2 courses in progress" in subject
    with session_scope() as db:
        assert jobs.send_weekly_reports(db, now=MONDAY + timedelta(days=7)) == 3
    assert jobs.weekly_period(MONDAY) == "2026-W48"
    assert jobs.daily_period(datetime(2026, 11, 23, 23, 30, tzinfo=UTC)) == "2026-11-23"


def test_jobs_run_as_tasks(population: dict[str, Any]) -> None:
    assert jobs.course_reminders_job.apply().get() == 2
    assert jobs.course_reminders_job.apply().get() == 0
    assert jobs.weekly_progress_report_job.apply().get() == 3


def test_expire_subscriptions_job(student: Any) -> None:
    plan = create_plan()
    lapsed = create_subscription(student, plan, days_left=-1)
    running = create_subscription(student, create_plan(), days_left=5)
    assert payment_jobs.expire_subscriptions_job.apply().get() == 1
    assert payment_jobs.expire_subscriptions_job.apply().get() == 0
    from app.modules.payments.models import Subscription

    with session_scope() as db:
        assert db.get(Subscription, lapsed.id).status == "expired"  # type: ignore[union-attr]
        assert db.get(Subscription, running.id).status == "active"  # type: ignore[union-attr]


def test_clean_expired_tokens(student: Any) -> None:
    now = utcnow()
    with session_scope() as db:
        for days in (-2, -1, 5):
            db.add(
                RefreshToken(
                    user_id=student.id,
                    family_id=uuid.uuid4(),
                    token_hash=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
                    expires_at=now + timedelta(days=days),
                )
            )
    result = auth_jobs.clean_expired_tokens_job.apply().get()
    assert result["refresh_tokens"] == 2
    with session_scope() as db:
        assert db.scalar(select(func.count()).select_from(RefreshToken)) == 1


def test_schedules_come_from_the_settings(env: Any) -> None:
    cron = schedule.parse_schedule("0 9 * * 1")
    assert isinstance(cron, crontab)
    assert cron.hour == {9} and cron.minute == {0} and cron.day_of_week == {1}
    assert schedule.parse_schedule("every:2.5") == 2.5
    for bad in ("0 9 * *", "every:0", "every:x"):
        with pytest.raises(ValueError):
            schedule.parse_schedule(bad)
    env(
        WEEKLY_REPORT_CRON="15 7 * * 5",
        COURSE_REMINDER_CRON="every:30",
        PAYMENT_RECONCILIATION_CRON="every:45",
        WEBHOOK_REDRIVE_CRON="every:20",
        ANNOUNCEMENT_PUBLISH_CRON="every:15",
        ROSTER_STALL_CRON="every:60",
    )
    entries = schedule.beat_schedule(get_settings())
    assert set(entries) == {
        "weekly-progress-report",
        "course-reminders",
        "expire-subscriptions",
        "reconcile-payments",
        "clean-expired-tokens",
        "lti-clean-used-tokens",
        "redrive-webhook-deliveries",
        "due-date-reminders",
        "publish-announcements",
        "roster-fail-stalled-imports",
    }
    assert entries["weekly-progress-report"]["schedule"].hour == {7}
    assert entries["course-reminders"]["schedule"] == 30.0
    assert entries["weekly-progress-report"]["task"] == "emails.weekly_progress_report"
    assert entries["reconcile-payments"]["task"] == "payments.reconcile_pending"
    assert entries["reconcile-payments"]["schedule"] == 45.0
    assert entries["publish-announcements"] == {
        "task": "default.announcements_publish_due",
        "schedule": 15.0,
    }
    assert entries["redrive-webhook-deliveries"] == {
        "task": "webhooks.redrive_overdue",
        "schedule": 20.0,
    }
    assert entries["roster-fail-stalled-imports"]["schedule"] == 60.0
