"""Scheduled auth job: deleting expired refresh and one-time tokens, and expired in-memory
blacklist entries (TOKEN_CLEANUP_CRON)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.core.database import session_scope, utcnow
from app.core.schedule import every
from app.core.security import purge_memory_blacklist
from app.core.tasks import RETRY_POLICY, celery_app
from app.modules.auth.models import OneTimeToken, RefreshToken


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


@celery_app.task(name="default.clean_expired_tokens", **RETRY_POLICY)
def clean_expired_tokens_job() -> dict[str, int]:
    with session_scope() as db:
        return clean_expired_tokens(db, now=utcnow())


every("clean-expired-tokens", clean_expired_tokens_job, setting="TOKEN_CLEANUP_CRON")
