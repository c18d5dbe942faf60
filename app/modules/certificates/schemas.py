"""Certificates as the API shows them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.validation import RequestModel


class CertificateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    certificate_number: str
    enrollment_id: uuid.UUID
    student_id: uuid.UUID
    course_id: uuid.UUID
    student_name: str
    course_title: str
    instructor_name: str
    completion_date: datetime
    issued_at: datetime
    pdf_sha256: str
    is_revoked: bool
    revoked_at: datetime | None
    revoked_reason: str | None


class RevokeRequest(RequestModel):
    reason: str = Field(min_length=3, max_length=1000)


class VerificationResult(BaseModel):
    """What the public may learn about a certificate number (nothing else personal)."""

    certificate_number: str
    valid: bool
    status: Literal["valid", "revoked", "tampered"]
    student_name: str | None
    course_title: str | None
    instructor_name: str | None
    completion_date: datetime | None
    issued_at: datetime | None
    revoked_at: datetime | None
    # Compare with the SHA-256 of a PDF you were given to be sure it is the issued file.
    pdf_sha256: str | None
