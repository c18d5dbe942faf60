"""The one notification path: `notify()` writes the in-app inbox row and/or queues the email,
per the recipient's preference for the category; plus the inbox, the preferences and the
signed one-click unsubscribe links (RFC 8058) every non-transactional email carries.

Security emails (password reset, verification, MFA) are not notifications: they have no
category, go through `queue_email` directly and cannot be turned off.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import utcnow
from app.core.errors import BadRequest
from app.core.pagination import PageParams, paginate
from app.core.security import purpose_digest, tokens_equal
from app.modules.notifications import repository
from app.modules.notifications.models import (
    Notification,
    NotificationCategory,
    NotificationPreference,
)
from app.modules.notifications.service import queue_email
from app.modules.users.models import User

UNSUBSCRIBE_PURPOSE = "notifications.unsubscribe"
GENERIC_TEMPLATE = "notification"


@dataclass(frozen=True)
class Message:
    """What to tell the recipients. The inbox shows `title`, `body` and `url`; the email is
    `template` rendered with `context` (plus the recipient's `full_name`, `title`, `body`,
    `url` and `unsubscribe_url`)."""

    title: str
    body: str = ""
    url: str | None = None
    template: str = GENERIC_TEMPLATE
    context: Mapping[str, Any] = field(default_factory=dict)


class Recipient(Protocol):
    """Who is notified: a `User`, or a query row with the same fields."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def email(self) -> str: ...
    @property
    def full_name(self) -> str: ...
    @property
    def email_opt_out(self) -> bool: ...


@dataclass(frozen=True)
class Channels:
    in_app: bool = True
    email: bool = True


class InvalidUnsubscribeToken(BadRequest):
    code = "invalid_unsubscribe_token"


# --- unsubscribe links ---------------------------------------------------------------------


def _signature(user_id: uuid.UUID, category: str) -> str:
    digest = purpose_digest(UNSUBSCRIBE_PURPOSE, f"{user_id.hex}:{category}".encode())
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def unsubscribe_token(user_id: uuid.UUID, category: NotificationCategory) -> str:
    """A token that turns off `category` emails for `user_id` alone, without signing in."""
    return f"{user_id.hex}.{category.value}.{_signature(user_id, category.value)}"


def unsubscribe_url(user_id: uuid.UUID, category: NotificationCategory) -> str:
    settings = get_settings()
    token = quote(unsubscribe_token(user_id, category), safe="")
    return (
        f"{settings.PUBLIC_BASE_URL.rstrip('/')}{settings.API_V1_PREFIX}"
        f"/notifications/unsubscribe?token={token}"
    )


def unsubscribe_headers(user_id: uuid.UUID, category: NotificationCategory) -> dict[str, str]:
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(user_id, category)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _read_token(token: str) -> tuple[uuid.UUID, NotificationCategory]:
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidUnsubscribeToken("The unsubscribe link is invalid")
    user_hex, category, signature = parts
    try:
        user_id = uuid.UUID(hex=user_hex)
        kind = NotificationCategory(category)
    except ValueError as exc:
        raise InvalidUnsubscribeToken("The unsubscribe link is invalid") from exc
    if not tokens_equal(signature, _signature(user_id, kind.value)):
        raise InvalidUnsubscribeToken("The unsubscribe link is invalid")
    return user_id, kind


def unsubscribe(db: Session, *, token: str) -> NotificationCategory:
    """Turn off the emails of the token's category for the token's user (idempotent)."""
    user_id, category = _read_token(token)
    if db.get(User, user_id) is None:
        raise InvalidUnsubscribeToken("The unsubscribe link is invalid")
    current = channels_of(db, user_id)[category]
    _store(db, user_id, category, Channels(in_app=current.in_app, email=False))
    return category


# --- preferences ---------------------------------------------------------------------------


def channels_of(db: Session, user_id: uuid.UUID) -> dict[NotificationCategory, Channels]:
    """Every category's channels for the user (both on where nothing is stored)."""
    stored = {row.category: row for row in repository.preferences(db, [user_id])}
    result = {}
    for category in NotificationCategory:
        row = stored.get(category.value)
        result[category] = Channels(row.in_app, row.email) if row else Channels()
    return result


def _store(
    db: Session, user_id: uuid.UUID, category: NotificationCategory, channels: Channels
) -> None:
    row = db.get(NotificationPreference, (user_id, category.value))
    if row is None:
        row = NotificationPreference(user_id=user_id, category=category.value)
        db.add(row)
    row.in_app = channels.in_app
    row.email = channels.email
    db.flush()


def set_channels(
    db: Session, *, user: User, changes: Mapping[NotificationCategory, Channels]
) -> dict[NotificationCategory, Channels]:
    """Set the channels of the categories in `changes`; the others keep theirs."""
    for category, channels in changes.items():
        _store(db, user.id, category, channels)
    return channels_of(db, user.id)


# --- the notify path -----------------------------------------------------------------------


def notify_many(
    db: Session, users: Sequence[Recipient], category: NotificationCategory, message: Message
) -> list[Notification]:
    """Notify each of `users` per their preference for `category` (one query for all their
    preferences): an inbox row for in-app, an email after commit for email (skipped for
    users who turned all non-transactional email off). Returns the inbox rows written."""
    if not users:
        return []
    stored = {
        row.user_id: row
        for row in repository.preferences(db, [user.id for user in users], category.value)
    }
    rows: list[Notification] = []
    for user in users:
        preference = stored.get(user.id)
        if preference is None or preference.in_app:
            rows.append(
                Notification(
                    user_id=user.id,
                    category=category.value,
                    title=message.title[:300],
                    body=message.body,
                    url=message.url,
                )
            )
        if (preference is None or preference.email) and not user.email_opt_out:
            link = unsubscribe_url(user.id, category)
            queue_email(
                db,
                to=user.email,
                template=message.template,
                context={
                    "full_name": user.full_name,
                    "title": message.title,
                    "body": message.body,
                    "url": message.url or "",
                    **message.context,
                    "unsubscribe_url": link,
                },
                transactional=False,
                headers=unsubscribe_headers(user.id, category),
            )
    db.add_all(rows)
    db.flush()
    return rows


def notify(
    db: Session, user: Recipient, category: NotificationCategory, message: Message
) -> Notification | None:
    """Notify one user (see `notify_many`); the inbox row, or None when in-app is off."""
    rows = notify_many(db, [user], category, message)
    return rows[0] if rows else None


# --- the inbox -----------------------------------------------------------------------------


def list_inbox(
    db: Session, *, user: User, unread_only: bool, params: PageParams
) -> tuple[list[Notification], int]:
    return paginate(db, repository.inbox_query(user.id, unread_only=unread_only), params)


def unread_count(db: Session, *, user: User) -> int:
    return repository.unread_count(db, user.id)


def mark_read(db: Session, *, user: User, ids: Sequence[uuid.UUID] | None) -> int:
    """Mark the caller's notifications read (`None`: all); others' ids are ignored."""
    return repository.mark_read(db, user.id, ids, utcnow())
