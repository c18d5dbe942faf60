"""The background import of a checked roster archive."""

from __future__ import annotations

import uuid

from app.core.tasks import RETRY_POLICY, celery_app
from app.modules.rostering import service

# An import of tens of thousands of rows may outlast the default task limits (this one stays
# below the broker's visibility timeout, so the task is never handed out twice). It is not
# retried: each batch commits on its own, and a failure is reported on the import itself.
IMPORT_TIME_LIMIT_SECONDS = 600


@celery_app.task(
    name="rostering.run_import",
    time_limit=IMPORT_TIME_LIMIT_SECONDS,
    soft_time_limit=IMPORT_TIME_LIMIT_SECONDS - 60,
)
def run_roster_import(import_id: str) -> None:
    service.execute_import(uuid.UUID(import_id))


@celery_app.task(name="rostering.invite_users", **RETRY_POLICY)
def invite_users(user_ids: list[str]) -> int:
    """Mail each imported account still without a password the link to choose one."""
    return service.invite_users([uuid.UUID(user_id) for user_id in user_ids])
