"""Who an access token speaks for, and the SQL check that the user still answers to it. Kept
apart from the HTTP dependencies so repositories can use them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists

from app.modules.users.models import User


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified, unrevoked access token speaks for, as the token says. The user row
    has not been read: whoever acts on a principal without loading the user must check in
    the same statement that the user is still active at `token_version` (see
    `principal_user_filter`), and explain a refusal with
    `app.core.dependencies.load_principal_user`."""

    user_id: uuid.UUID
    token_version: int


def principal_user_filter(
    user_id: ColumnElement[Any], token_version: ColumnElement[Any]
) -> ColumnElement[bool]:
    """SQL condition: the user `user_id` exists, is active and is at `token_version` — the
    checks of `load_principal_user`, for a statement acting on a `Principal`."""
    return exists().where(
        User.id == user_id, User.is_active.is_(True), User.token_version == token_version
    )
