"""Issue the certificate when an enrollment completes (a `course.completed` subscriber)."""

from __future__ import annotations

import uuid
from typing import Any

from app.core.database import session_scope
from app.core.events import subscribe
from app.core.tasks import RETRY_POLICY, celery_app
from app.modules.certificates import service


@celery_app.task(name="certificates.issue_for_enrollment", **RETRY_POLICY)
def issue_for_enrollment(event_name: str, payload: dict[str, Any]) -> str | None:
    with session_scope() as db:
        certificate = service.issue_on_completion(
            db, enrollment_id=uuid.UUID(str(payload["enrollment_id"]))
        )
        return str(certificate.id) if certificate else None


subscribe("course.completed", issue_for_enrollment)
