"""The rules assignments hand to the modules they build on: a submission's grader may read
the private files attached to it."""

from __future__ import annotations

from app.modules.assignments.service import grader_may_read_attachment
from app.modules.files.service import allow_reading_attachments

allow_reading_attachments(
    lambda db, file_id, uploader_id, reader: grader_may_read_attachment(
        db, file_id=file_id, uploader_id=uploader_id, user=reader
    )
)
