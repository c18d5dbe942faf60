"""Building a data export in the background."""

from __future__ import annotations

import uuid

from app.core.tasks import celery_app
from app.modules.privacy import service


@celery_app.task(name="privacy.build_export")
def build_data_export(export_id: str) -> None:
    service.execute_export(uuid.UUID(export_id))
