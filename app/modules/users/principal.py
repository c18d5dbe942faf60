"""Who an access token speaks for, and the SQL check that the token still stands (the user's
token version, the revoked tokens), kept apart from the HTTP dependencies
(`app.modules.users.dependencies`) so repositories of other modules can put it in their
statements."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, exists

from app.modules.users.models import RevokedAccessToken, User


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified access token speaks for, as the token says. Nothing has been read: who
    acts on a principal without loading the user must check `principal_filter` in the same
    statement, and explain a refusal with `app.modules.users.dependencies.load_principal_user`."""

    user_id: uuid.UUID
    token_version: int
    token_id: str


def principal_filter(
    user_id: ColumnElement[Any], token_version: ColumnElement[Any], token_id: ColumnElement[Any]
) -> ColumnElement[bool]:
    """SQL condition, the one definition of a valid principal: its user exists, is active and
    is at the token's version (a password change or deactivation bumps it), and the token
    itself was not revoked (signed out)."""
    return and_(
        exists().where(
            User.id == user_id, User.is_active.is_(True), User.token_version == token_version
        ),
        ~exists().where(RevokedAccessToken.jti == token_id),
    )
