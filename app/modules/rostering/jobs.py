"""Scheduled rostering job: failing the imports whose worker died (ROSTER_STALL_CRON)."""

from __future__ import annotations

from app.core.database import session_scope, utcnow
from app.core.schedule import every
from app.core.tasks import RETRY_POLICY, celery_app
from app.modules.rostering import service


@celery_app.task(name="default.roster_fail_stalled_imports", **RETRY_POLICY)
def fail_stalled_imports_job() -> int:
    with session_scope() as db:
        return service.fail_stalled_imports(db, now=utcnow())


every("roster-fail-stalled-imports", fail_stalled_imports_job, setting="ROSTER_STALL_CRON")
