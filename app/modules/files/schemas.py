"""File metadata as the API shows it."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class FileBase(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    original_filename: str
    extension: str
    mime_type: str
    size_bytes: int
    checksum_sha256: str
    folder: str | None
    course_id: uuid.UUID | None
    lesson_id: uuid.UUID | None
    is_public: bool
    storage_provider: str
    uploader_id: uuid.UUID
    created_at: datetime


class FileRead(FileBase):
    # The API route that checks access and serves (or redirects to) the content.
    download_url: str
    # Only for public files: the object's permanent address.
    public_url: str | None = None


class DownloadLink(BaseModel):
    url: str
    expires_at: datetime
