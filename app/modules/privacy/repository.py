"""Queries on data exports and erasures."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.modules.privacy.models import DataExport, Erasure


def get_export(session: Session, export_id: uuid.UUID) -> DataExport | None:
    return session.get(DataExport, export_id)


def exports_of(session: Session, user_id: uuid.UUID) -> list[DataExport]:
    return list(session.scalars(select(DataExport).where(DataExport.user_id == user_id)))


def erasure_of(session: Session, user_id: uuid.UUID) -> Erasure | None:
    return session.scalar(select(Erasure).where(Erasure.user_id == user_id))
