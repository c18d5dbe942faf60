"""Email delivery task: rendered and sent by a worker (or inline in embedded mode)."""

from __future__ import annotations

import smtplib
from typing import Any

from app.core.tasks import RETRY_POLICY, celery_app
from app.modules.notifications.service import deliver, render_email

# Only delivery failures are worth retrying (server down, timeout, temporary refusal); a
# broken template or address fails the same way every time.
_EMAIL_RETRY_POLICY = {**RETRY_POLICY, "autoretry_for": (smtplib.SMTPException, OSError)}


@celery_app.task(name="emails.send", **_EMAIL_RETRY_POLICY)
def send_email(
    to: str, template: str, context: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    deliver(render_email(template, to, context, headers))
