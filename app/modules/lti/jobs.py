"""Scheduled LTI job: forgetting one-time values (login hints, nonces, assertion ids) past
their expiry, on the token cleanup schedule (TOKEN_CLEANUP_CRON)."""

from __future__ import annotations

from app.core.database import session_scope, utcnow
from app.core.schedule import every
from app.core.tasks import RETRY_POLICY, celery_app
from app.modules.lti import onetime


@celery_app.task(name="default.lti_clean_used_tokens", **RETRY_POLICY)
def clean_used_tokens_job() -> int:
    with session_scope() as db:
        return onetime.delete_expired(db, now=utcnow())


every("lti-clean-used-tokens", clean_used_tokens_job, setting="TOKEN_CLEANUP_CRON")
