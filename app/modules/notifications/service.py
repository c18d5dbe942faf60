"""Email: Jinja2 templates (HTML + text) and delivery backends (console outbox, SMTP).

A template `<name>` is two files in `templates/`: `<name>.txt`, whose first line is
`Subject: ...`, and `<name>.html`, which extends `base.html`. Emails are queued with
`queue_email()` inside a transaction and sent by a task after the commit.
"""

from __future__ import annotations

import email.policy
import json
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import utcnow
from app.core.tasks import defer

TEMPLATES_DIR = Path(__file__).parent / "templates"

_html_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)
_text_env = Environment(
    # Plain-text bodies are not HTML: escaping would corrupt them.
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=False,  # noqa: S701  # nosec B701
    undefined=StrictUndefined,
)


@dataclass(frozen=True)
class RenderedEmail:
    to: str
    subject: str
    text: str
    html: str
    # Extra headers (List-Unsubscribe on every non-transactional email).
    headers: tuple[tuple[str, str], ...] = ()


def render_email(
    template: str,
    to: str,
    context: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> RenderedEmail:
    settings = get_settings()
    full = {
        "project_name": settings.PROJECT_NAME,
        "frontend_url": settings.FRONTEND_URL,
        "public_base_url": settings.PUBLIC_BASE_URL,
        **context,
    }
    text = _text_env.get_template(f"{template}.txt").render(full)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"template {template}.txt must start with a Subject: line")
    html = _html_env.get_template(f"{template}.html").render(full)
    return RenderedEmail(
        to=to,
        subject=first[len("Subject:") :].strip(),
        text=body.lstrip(),
        html=html,
        headers=tuple((headers or {}).items()),
    )


_POLICY = email.policy.default.clone(max_line_length=998)


def _build_message(email: RenderedEmail) -> EmailMessage:
    settings = get_settings()
    # Lines up to RFC 5322's 998 characters: a List-Unsubscribe URL longer than 78 would
    # otherwise be folded into encoded words that mail clients do not read as a link.
    message = EmailMessage(policy=_POLICY)
    message["From"] = formataddr((settings.EMAIL_FROM_NAME, settings.EMAIL_FROM))
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Message-ID"] = make_msgid(domain=settings.EMAIL_FROM.rsplit("@", 1)[-1])
    for name, value in email.headers:
        message[name] = value
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


def connect_smtp() -> tuple[smtplib.SMTP, ssl.SSLContext]:
    """An open connection to SMTP_HOST (implicit TLS when SMTP_USE_SSL) and the TLS context
    to use for STARTTLS."""
    settings = get_settings()
    assert settings.SMTP_HOST
    context = ssl.create_default_context()
    if settings.SMTP_USE_SSL:
        return (
            smtplib.SMTP_SSL(
                settings.SMTP_HOST,
                settings.SMTP_PORT,
                timeout=settings.SMTP_TIMEOUT_SECONDS,
                context=context,
            ),
            context,
        )
    smtp = smtplib.SMTP(
        settings.SMTP_HOST, settings.SMTP_PORT, timeout=settings.SMTP_TIMEOUT_SECONDS
    )
    return smtp, context


def deliver(email: RenderedEmail) -> None:
    """Send now with the configured backend; raises on failure so the task can retry."""
    settings = get_settings()
    message = _build_message(email)
    if settings.EMAIL_BACKEND == "console":
        outbox = settings.VAR_DIR / "outbox"
        outbox.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
        path = outbox / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(bytes(message))
        with (outbox / "index.jsonl").open("a") as index:
            index.write(
                json.dumps({"to": email.to, "subject": email.subject, "file": path.name}) + "\n"
            )
        return
    if not settings.SMTP_HOST:
        raise RuntimeError("EMAIL_BACKEND=smtp needs SMTP_HOST")
    smtp, context = connect_smtp()
    with smtp:
        if settings.SMTP_USE_TLS and not settings.SMTP_USE_SSL:
            smtp.starttls(context=context)
        if settings.SMTP_USERNAME and settings.SMTP_PASSWORD:
            smtp.login(settings.SMTP_USERNAME, settings.SMTP_PASSWORD)
        smtp.send_message(message)


def queue_email(
    session: Session,
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    opted_out: bool = False,
    transactional: bool = True,
    headers: dict[str, str] | None = None,
) -> bool:
    """Send `template` to `to` after the transaction commits.

    Non-transactional mail (reports, reminders) is skipped for users who opted out; pass
    the user's `email_opt_out` as `opted_out`. Returns whether the email was queued.
    Mail about a notification category goes through `app.modules.notifications.inbox.notify`
    instead, which also honours the category's preference and adds the unsubscribe link.
    """
    if opted_out and not transactional:
        return False
    from app.modules.notifications.tasks import send_email

    if headers:
        defer(session, send_email, to, template, context, headers)
    else:
        defer(session, send_email, to, template, context)
    return True
