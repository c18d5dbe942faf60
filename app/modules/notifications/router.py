"""The caller's notification inbox and preferences: `/api/v1/notifications/...`, and the
one-click unsubscribe link of every non-transactional email (no sign-in: the link's token
names the recipient and the category, signed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from app.core.dependencies import DbSession
from app.core.errors import problem
from app.core.pagination import Page, Pagination
from app.core.routing import APIRouter
from app.modules.notifications import inbox
from app.modules.notifications.models import NotificationCategory
from app.modules.notifications.schemas import (
    ChannelsRead,
    MarkedRead,
    MarkRead,
    NotificationRead,
    PreferencesRead,
    PreferencesUpdate,
    UnreadCount,
    Unsubscribed,
)
from app.modules.users.dependencies import CurrentUser

router = APIRouter(prefix="/notifications", tags=["notifications"])


def _preferences(channels: dict[NotificationCategory, inbox.Channels]) -> PreferencesRead:
    return PreferencesRead(
        categories={
            category: ChannelsRead(in_app=value.in_app, email=value.email)
            for category, value in channels.items()
        }
    )


@router.get("", response_model=Page[NotificationRead])
def list_notifications(
    db: DbSession,
    user: CurrentUser,
    params: Pagination,
    unread_only: Annotated[bool, Query(description="Only notifications not read yet")] = False,
) -> Page[NotificationRead]:
    """The caller's notifications, newest first."""
    items, total = inbox.list_inbox(db, user=user, unread_only=unread_only, params=params)
    return Page[NotificationRead].build(
        [NotificationRead.model_validate(item) for item in items], total, params
    )


@router.get("/unread-count", response_model=UnreadCount)
def unread_count(db: DbSession, user: CurrentUser) -> UnreadCount:
    """How many of the caller's notifications are unread."""
    return UnreadCount(unread=inbox.unread_count(db, user=user))


@router.post("/read", response_model=MarkedRead)
def mark_read(data: MarkRead, db: DbSession, user: CurrentUser) -> MarkedRead:
    """Mark the caller's notifications read: the given ids (others' ids are ignored) or all."""
    ids = None if data.all else data.ids
    return MarkedRead(marked=inbox.mark_read(db, user=user, ids=ids))


@router.get("/preferences", response_model=PreferencesRead)
def get_preferences(db: DbSession, user: CurrentUser) -> PreferencesRead:
    """The caller's channels (in-app, email) for each notification category."""
    return _preferences(inbox.channels_of(db, user.id))


@router.put("/preferences", response_model=PreferencesRead)
def put_preferences(data: PreferencesUpdate, db: DbSession, user: CurrentUser) -> PreferencesRead:
    """Set the channels of the given categories (security emails cannot be turned off)."""
    changes = {
        category: inbox.Channels(in_app=value.in_app, email=value.email)
        for category, value in data.categories.items()
    }
    return _preferences(inbox.set_channels(db, user=user, changes=changes))


@router.post(
    "/unsubscribe",
    response_model=Unsubscribed,
    responses=problem(400, "The unsubscribe token is invalid or tampered with"),
)
def unsubscribe(
    db: DbSession,
    token: Annotated[str, Query(max_length=200, description="The token of the email's link")],
) -> Unsubscribed:
    """One-click unsubscribe (RFC 8058): turn off one category's emails for the link's
    recipient, without signing in."""
    category = inbox.unsubscribe(db, token=token)
    return Unsubscribed(category=category, email=False)
