"""Queries on data exports and erasures."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.pagination import PageParams, paginate
from app.modules.privacy.models import DataExport, Erasure


def get_export(session: Session, export_id: uuid.UUID) -> DataExport | None:
    return session.get(DataExport, export_id)


def exports_page(
    session: Session, user_id: uuid.UUID, params: PageParams
) -> tuple[list[DataExport], int]:
    """One page of a person's exports, newest first."""
    statement = (
        select(DataExport)
        .where(DataExport.user_id == user_id)
        .order_by(DataExport.created_at.desc(), DataExport.id.desc())
    )
    return paginate(session, statement, params)


def erasure_of(session: Session, user_id: uuid.UUID) -> Erasure | None:
    return session.scalar(select(Erasure).where(Erasure.user_id == user_id))
