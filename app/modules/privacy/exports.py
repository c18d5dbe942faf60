"""Building a person's export: a zip of one JSON file per contributor, the person's uploaded
files, and a README saying what each file holds."""

from __future__ import annotations

import json
import re
import tempfile
import uuid
import zipfile
from datetime import datetime
from decimal import Decimal
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import utcnow
from app.core.storage import ObjectNotFound, get_storage
from app.modules.files.models import UploadedFile
from app.modules.privacy.contributors import CONTRIBUTORS


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _readme(generated_at: datetime) -> str:
    settings = get_settings()
    lines = [
        f"Your data at {settings.PROJECT_NAME}, exported {generated_at.isoformat()}.",
        "",
        "Each JSON file holds a list of records (times in UTC, ISO 8601; money as decimal",
        "strings with its ISO 4217 currency):",
        "",
        *(f"- {c.filename}: {c.describes}" for c in CONTRIBUTORS),
        "- files/: the contents of the files you uploaded, named <file id>-<original name>",
        "",
        "Passwords, second-factor secrets and payment card data are never part of an export.",
    ]
    return "\n".join(lines) + "\n"


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:120] or "file"


def build_zip(db: Session, user_id: uuid.UUID) -> BinaryIO:
    """The export of `user_id` as a temporary file, positioned at its start."""
    target = tempfile.TemporaryFile()  # noqa: SIM115
    storage = get_storage("uploads")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", _readme(utcnow()))
        for contributor in CONTRIBUTORS:
            rows = contributor.rows(db, user_id)
            archive.writestr(
                contributor.filename, json.dumps(rows, default=_plain, indent=2, sort_keys=True)
            )
        uploads = db.execute(
            select(UploadedFile.id, UploadedFile.original_filename, UploadedFile.storage_path)
            .where(UploadedFile.uploader_id == user_id)
            .order_by(UploadedFile.created_at)
        )
        for file_id, name, key in uploads:
            try:
                with archive.open(f"files/{file_id}-{_safe_name(name)}", "w") as entry:
                    for chunk in storage.open(key):
                        entry.write(chunk)
            except ObjectNotFound:
                continue
    target.seek(0)
    return target
