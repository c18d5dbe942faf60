"""Email delivery task: rendered and sent by a worker (or inline in embedded mode)."""

from __future__ import annotations

from typing import Any

from app.core.tasks import RETRY_POLICY, celery_app
from app.modules.notifications.service import deliver, render_email


@celery_app.task(name="emails.send", **RETRY_POLICY)
def send_email(to: str, template: str, context: dict[str, Any]) -> None:
    deliver(render_email(template, to, context))
