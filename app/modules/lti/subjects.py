"""The `sub` each tool knows a user by: the id_token's `sub`, NRPS `user_id` and AGS
`userId`. Random and stored per (tool, user), so it is stable for one tool and says nothing
another tool could match."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.modules.lti.models import LtiSubject


def subs_for(
    db: Session, *, tool_id: uuid.UUID, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The tool's sub of each user, made on first use (concurrent first uses agree: the
    row that lands first wins and both read it back)."""
    if not user_ids:
        return {}
    wanted = set(user_ids)
    statement = select(LtiSubject.user_id, LtiSubject.sub).where(
        LtiSubject.tool_id == tool_id, LtiSubject.user_id.in_(wanted)
    )
    found: dict[uuid.UUID, str] = {row.user_id: row.sub for row in db.execute(statement)}
    missing = wanted - found.keys()
    if missing:
        insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
        db.execute(
            insert(LtiSubject)
            .values(
                [
                    {"tool_id": tool_id, "user_id": user_id, "sub": secrets.token_hex(16)}
                    for user_id in sorted(missing)
                ]
            )
            .on_conflict_do_nothing()
        )
        found = {row.user_id: row.sub for row in db.execute(statement)}
    return found


def sub_for(db: Session, *, tool_id: uuid.UUID, user_id: uuid.UUID) -> str:
    return subs_for(db, tool_id=tool_id, user_ids=[user_id])[user_id]


def user_of(db: Session, *, tool_id: uuid.UUID, sub: str) -> uuid.UUID | None:
    """The user the tool knows as `sub`, if any."""
    return db.scalar(
        select(LtiSubject.user_id).where(LtiSubject.tool_id == tool_id, LtiSubject.sub == sub)
    )
