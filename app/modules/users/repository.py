"""Queries on the `users` table."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session

from app.modules.users.models import User


def get(session: Session, user_id: uuid.UUID) -> User | None:
    return session.get(User, user_id)


def get_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email))


def list_statement(*, role: str | None, is_active: bool | None, search: str | None) -> Select:
    statement = select(User)
    if role is not None:
        statement = statement.where(User.role == role)
    if is_active is not None:
        statement = statement.where(User.is_active.is_(is_active))
    if search:
        # autoescape: a search for "a_b" means that literal text, not LIKE wildcards.
        statement = statement.where(
            or_(
                User.email.contains(search.lower(), autoescape=True),
                User.full_name.icontains(search, autoescape=True),
            )
        )
    return statement.order_by(User.created_at.desc(), User.id)


def claim_totp_step(session: Session, user_id: uuid.UUID, step: int) -> bool:
    """Record `step` as used unless it (or a later one) already was; atomic per row."""
    result = session.execute(
        update(User)
        .where(
            User.id == user_id,
            or_(User.mfa_last_used_step.is_(None), User.mfa_last_used_step < step),
        )
        .values(mfa_last_used_step=step)
        .execution_options(synchronize_session="fetch")
    )
    return bool(getattr(result, "rowcount", 0))
