"""Request and response bodies of the webhook admin API."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.core.schemas import WEB_URL_SCHEMA, PartialUpdate
from app.core.validation import RequestModel

EventName = Annotated[str, StringConstraints(pattern=r"^(\*|[a-z_]+(\.[a-z_]+)+)$", max_length=100)]


class _Base(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class WebhookEndpointCreate(RequestModel):
    url: AnyHttpUrl = Field(
        description="Receiver URL (http or https; public hosts only in production)",
        json_schema_extra=WEB_URL_SCHEMA,
    )
    description: str | None = Field(default=None, max_length=500)
    event_types: list[EventName] = Field(
        min_length=1, max_length=50, description='Event names to receive, or ["*"] for all'
    )
    is_active: bool = True


class WebhookEndpointUpdate(PartialUpdate):
    nullable = frozenset({"description"})

    url: AnyHttpUrl | None = Field(default=None, json_schema_extra=WEB_URL_SCHEMA)
    description: str | None = Field(default=None, max_length=500)
    event_types: list[EventName] | None = Field(default=None, min_length=1, max_length=50)
    is_active: bool | None = None


class WebhookEndpointRead(_Base):
    id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    is_active: bool
    created_at: datetime
    updated_at: datetime


class WebhookEndpointWithSecret(WebhookEndpointRead):
    """Returned once, at creation and on rotation: the secret receivers verify with."""

    secret: str


class DeliveryAttemptRead(_Base):
    attempt_number: int
    status_code: int | None
    error: str | None
    duration_ms: int
    response_excerpt: str | None
    created_at: datetime


class WebhookDeliveryRead(_Base):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: str
    event_type: str
    status: str
    attempts_count: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    redelivery_of_id: uuid.UUID | None
    created_at: datetime


class WebhookDeliveryDetail(WebhookDeliveryRead):
    payload: dict[str, Any]
    attempts: list[DeliveryAttemptRead]

    @field_validator("payload", mode="before")
    @classmethod
    def _parse_body(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


class EventTypeList(BaseModel):
    event_types: list[str]
