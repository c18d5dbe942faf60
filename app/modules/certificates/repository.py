"""Queries on `certificates`."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.modules.certificates.models import Certificate


def get(db: Session, certificate_id: uuid.UUID) -> Certificate | None:
    return db.get(Certificate, certificate_id)


def get_by_enrollment(db: Session, enrollment_id: uuid.UUID) -> Certificate | None:
    return db.scalar(select(Certificate).where(Certificate.enrollment_id == enrollment_id))


def get_by_number(db: Session, number: str) -> Certificate | None:
    return db.scalar(select(Certificate).where(Certificate.certificate_number == number))


def list_for_student(student_id: uuid.UUID) -> Select[Any]:
    return (
        select(Certificate)
        .where(Certificate.student_id == student_id)
        .order_by(Certificate.issued_at.desc(), Certificate.id)
    )
