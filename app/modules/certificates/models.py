"""The `certificates` table: one certificate per completed enrollment."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base, Timestamps, UUIDPrimaryKey


class Certificate(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "certificates"
    __table_args__ = (
        Index("ix_certificates_student_issued_at", "student_id", "issued_at"),
        Index("ix_certificates_course_issued_at", "course_id", "issued_at"),
        UniqueConstraint("credential_status_list_id", "credential_status_index"),
    )

    # Unique: a retried or concurrent issue can never create a second certificate.
    enrollment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), unique=True
    )
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="RESTRICT"))
    # Human-readable and printed on the PDF, e.g. LMS-2026-7K4Q-M2XD.
    certificate_number: Mapped[str] = mapped_column(String(32), unique=True)
    # What the certificate states, frozen at issue time (a later rename of the course or
    # the student does not alter an issued certificate) and covered by the signature.
    student_name: Mapped[str] = mapped_column(String(200))
    course_title: Mapped[str] = mapped_column(String(200))
    instructor_name: Mapped[str] = mapped_column(String(200))
    completion_date: Mapped[datetime]
    issued_at: Mapped[datetime]
    pdf_path: Mapped[str] = mapped_column(String(512))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    # "<scheme>:<hex>" over the canonical fields, so a forged or edited row is detected.
    signature: Mapped[str] = mapped_column(String(160))
    is_revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # The Open Badges 3.0 credential (a vc+jwt signed by the issuer's key) and its revocation
    # bit; empty until issued (at certificate issue, or by `lms credentials-issue-missing`).
    credential_jwt: Mapped[str | None] = mapped_column(Text)
    credential_status_list_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("credential_status_lists.id", ondelete="RESTRICT")
    )
    credential_status_index: Mapped[int | None]
