"""Scheduled auth job: deleting token rows past their expiry (refresh, revoked-access and
one-time tokens; TOKEN_CLEANUP_CRON)."""

from __future__ import annotations

from app.core.database import session_scope, utcnow
from app.core.schedule import every
from app.core.tasks import RETRY_POLICY, celery_app
from app.modules.auth import service


@celery_app.task(name="default.clean_expired_tokens", **RETRY_POLICY)
def clean_expired_tokens_job() -> dict[str, int]:
    with session_scope() as db:
        return service.delete_expired_tokens(db, now=utcnow())


every("clean-expired-tokens", clean_expired_tokens_job, setting="TOKEN_CLEANUP_CRON")
