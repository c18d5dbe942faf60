"""Request and response bodies of the notification inbox and preferences."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.validation import RequestModel
from app.modules.notifications.models import NotificationCategory


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    category: NotificationCategory
    title: str
    body: str
    url: str | None
    read_at: datetime | None
    created_at: datetime


class UnreadCount(BaseModel):
    unread: int


class MarkRead(RequestModel):
    """Either `ids` (up to 500 of the caller's notifications) or `all: true`."""

    ids: list[uuid.UUID] | None = Field(default=None, max_length=500)
    all: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if self.all == (self.ids is not None):
            raise ValueError("send either ids or all: true")
        return self


class MarkedRead(BaseModel):
    marked: int


class ChannelsBody(RequestModel):
    in_app: bool
    email: bool


class ChannelsRead(BaseModel):
    in_app: bool
    email: bool


class PreferencesUpdate(RequestModel):
    """The channels of the categories to change; categories left out keep theirs."""

    categories: dict[NotificationCategory, ChannelsBody] = Field(min_length=1)


class PreferencesRead(BaseModel):
    categories: dict[NotificationCategory, ChannelsRead]


class Unsubscribed(BaseModel):
    category: NotificationCategory
    email: bool
