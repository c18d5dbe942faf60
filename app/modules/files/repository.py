"""Queries on `uploaded_files`."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.modules.files.models import UploadedFile


def get(db: Session, file_id: uuid.UUID) -> UploadedFile | None:
    return db.get(UploadedFile, file_id)


def get_public_by_path(db: Session, storage_path: str) -> UploadedFile | None:
    return db.scalar(
        select(UploadedFile).where(
            UploadedFile.storage_path == storage_path, UploadedFile.is_public.is_(True)
        )
    )


def list_for_uploader(
    uploader_id: uuid.UUID,
    *,
    mime_type: str | None = None,
    extension: str | None = None,
    course_id: uuid.UUID | None = None,
) -> Select[Any]:
    statement = select(UploadedFile).where(UploadedFile.uploader_id == uploader_id)
    if mime_type:
        # "image/" matches every image; "application/pdf" matches exactly that type.
        statement = statement.where(UploadedFile.mime_type.startswith(mime_type, autoescape=True))
    if extension:
        statement = statement.where(UploadedFile.extension == extension.lower().lstrip("."))
    if course_id:
        statement = statement.where(UploadedFile.course_id == course_id)
    return statement.order_by(UploadedFile.created_at.desc(), UploadedFile.id)
