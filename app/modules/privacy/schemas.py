"""Data exports and erasures as the API shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.core.validation import RequestModel


class ExportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    requested_by_id: uuid.UUID | None
    status: str = Field(description="queued, running, ready or failed")
    size_bytes: int | None
    failure: str | None
    created_at: datetime
    finished_at: datetime | None
    download_url: str | None = Field(
        default=None, description="When ready: a signed link to the zip, valid until the time below"
    )
    download_expires_at: datetime | None = None


class ErasureRequest(RequestModel):
    reason: str = Field(
        min_length=3,
        max_length=2000,
        description="Why (e.g. the request's reference); kept in the erasure audit",
    )


class ErasureRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    performed_by_id: uuid.UUID | None
    reason: str
    summary: dict[str, int] = Field(description="Records removed or anonymized, per kind")
    created_at: datetime
