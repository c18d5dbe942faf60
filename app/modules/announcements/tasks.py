"""Announcement tasks: the fan-out of one published announcement, and the beat job that
publishes scheduled ones (ANNOUNCEMENT_PUBLISH_CRON) and restarts stopped fan-outs."""

from __future__ import annotations

import uuid

from app.core.database import session_scope, utcnow
from app.core.schedule import every
from app.core.tasks import RETRY_POLICY, celery_app
from app.modules.announcements import service


@celery_app.task(name="default.announcements_fan_out", **RETRY_POLICY)
def fan_out(announcement_id: str) -> None:
    # Acknowledged only once it returns (the app's acks_late): a worker killed mid-fan-out
    # leaves the message to another worker, which skips the students already notified.
    service.fan_out(uuid.UUID(announcement_id))


@celery_app.task(name="default.announcements_publish_due", **RETRY_POLICY)
def publish_due_job() -> int:
    with session_scope() as db:
        return service.publish_due(db, now=utcnow())


every("publish-announcements", publish_due_job, setting="ANNOUNCEMENT_PUBLISH_CRON")
