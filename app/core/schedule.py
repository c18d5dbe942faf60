"""The Celery beat schedule. Each module's `jobs.py` registers its periodic tasks with
`every()`, naming the setting that holds the task's schedule: a 5-field cron expression in
SCHEDULE_TIMEZONE, or `every:<seconds>` (handy in development and tests).

Registered today: the weekly progress report and the daily course reminder (enrollments),
subscription expiry and the reconciliation of pending payments (payments), the cleanup
of expired tokens (auth), the re-drive of overdue webhook deliveries (webhooks), the
due-date reminders (calendar), and failing roster imports whose worker died (rostering).
"""

from __future__ import annotations

from typing import Any

from celery import Task
from celery.schedules import crontab

from app.core.config import Settings, get_settings
from app.core.tasks import celery_app

# entry name -> (task, name of the setting holding its schedule)
_entries: dict[str, tuple[Task, str]] = {}


def parse_schedule(expression: str) -> crontab | float:
    """A 5-field cron expression, or `every:<seconds>`."""
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
        entry: {"task": task.name, "schedule": parse_schedule(getattr(settings, setting))}
        for entry, (task, setting) in _entries.items()
    }


def every(entry: str, task: Task, *, setting: str) -> None:
    """Run `task` on the schedule held by the setting named `setting`."""
    _entries[entry] = (task, setting)
    settings = get_settings()
    # Cron fields are read in the schedule's time zone; task ETAs stay UTC either way.
    celery_app.conf.update(
        timezone=settings.SCHEDULE_TIMEZONE, beat_schedule=beat_schedule(settings)
    )
