"""Queries for enrollment managed by a course's staff: accounts by id and email in bulk, and
invitations."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.modules.enrollments.models import EnrollmentInvitation
from app.modules.users.models import User


def users_by_ids(db: Session, user_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, User]:
    if not user_ids:
        return {}
    return {user.id: user for user in db.scalars(select(User).where(User.id.in_(list(user_ids))))}


def users_by_emails(db: Session, emails: Collection[str]) -> dict[str, User]:
    """Accounts by (normalized, lower-case) email address, in one query."""
    if not emails:
        return {}
    return {
        user.email: user for user in db.scalars(select(User).where(User.email.in_(list(emails))))
    }


def get_invitation(db: Session, *, token_hash: str) -> EnrollmentInvitation | None:
    return db.scalars(
        select(EnrollmentInvitation).where(EnrollmentInvitation.token_hash == token_hash)
    ).one_or_none()


def consume_invitation(
    db: Session, invitation_id: uuid.UUID, *, user_id: uuid.UUID, now: datetime
) -> bool:
    """Mark the invitation accepted if it is still open: True for the one caller that did."""
    result = db.execute(
        update(EnrollmentInvitation)
        .where(
            EnrollmentInvitation.id == invitation_id,
            EnrollmentInvitation.accepted_at.is_(None),
            EnrollmentInvitation.expires_at > now,
        )
        .values(accepted_at=now, accepted_by_id=user_id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1
