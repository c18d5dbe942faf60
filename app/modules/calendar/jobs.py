"""Due-date reminders, a scheduled job (DUE_REMINDER_CRON, in the beat schedule of
`app.modules.notifications.jobs`).

Each run emails every student (active enrollment, active account, not opted out of
non-transactional mail) whose due date for a published quiz or assignment, their extension
applied, falls within the next DUE_REMINDER_LEAD_HOURS and who has not handed it in. Each
(item, student) is reminded once: a unique `due_reminders` row is claimed before the email
is queued, in the same transaction, so concurrent runs (two beat processes) cannot both
send it — the later insert fails on the unique key and that run skips the pair.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import session_scope, utcnow
from app.core.schedule import every
from app.core.tasks import RETRY_POLICY, celery_app
from app.modules.calendar import repository
from app.modules.calendar.service import item_url
from app.modules.notifications.inbox import Message, notify
from app.modules.notifications.models import NotificationCategory

logger = logging.getLogger("app.jobs")


def send_due_reminders(db: Session, *, now: datetime) -> int:
    settings = get_settings()
    until = now + timedelta(hours=settings.DUE_REMINDER_LEAD_HOURS)
    sent = 0
    for dated in repository.DATED_KINDS:
        for row in db.execute(repository.due_soon(dated, now, until)).all():
            if not repository.claim_reminder(db, dated.name, row):
                continue
            url = item_url(row.course_slug, dated.name, row.item_id)
            due_at = row.due_at.strftime("%Y-%m-%d %H:%M")
            notify(
                db,
                row,
                NotificationCategory.DUE_DATE_REMINDERS,
                Message(
                    title=f"Due soon: {row.title}",
                    body=f"{row.title} in {row.course_title} is due {due_at} (UTC).",
                    url=url,
                    template="due_reminder",
                    context={
                        "title": row.title,
                        "course_title": row.course_title,
                        "due_at": due_at,
                    },
                ),
            )
            sent += 1
    return sent


@celery_app.task(name="emails.due_date_reminders", **RETRY_POLICY)
def due_reminders_job() -> int:
    with session_scope() as db:
        sent = send_due_reminders(db, now=utcnow())
    logger.info("due-date reminders queued: %d", sent)
    return sent


every("due-date-reminders", due_reminders_job, setting="DUE_REMINDER_CRON")
