"""Plain factory functions for arranging test data."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import event

from app.core.database import get_engine, session_scope
from app.core.security import create_access_token, hash_password
from app.modules.users.models import User

DEFAULT_PASSWORD = "Correct-Horse-9"
_counter = itertools.count(1)
# One argon2 hash per password for the whole run (each costs ~40 ms): people arranged with
# the same password share its hash, which verifies exactly as one made for each of them.
_hash_once = functools.cache(hash_password)


def create_user(
    *,
    role: str = "student",
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    full_name: str | None = None,
    is_active: bool = True,
    **fields: Any,
) -> User:
    number = next(_counter)
    with session_scope() as session:
        user = User(
            email=(email or f"user{number}@example.com").lower(),
            password_hash=_hash_once(password),
            full_name=full_name or f"Test User {number}",
            role=role,
            is_active=is_active,
            **fields,
        )
        session.add(user)
        session.flush()
        session.expunge(user)
    return user


def bearer_headers(user: User) -> dict[str, str]:
    token, _claims = create_access_token(
        user_id=user.id, role=user.role, token_version=user.token_version
    )
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements the application runs inside the block: through the engine, and
    those sent from the event loop over psycopg's async driver (`fetch_single_statement`)."""
    seen: list[str] = []

    def _record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    # Every async statement goes through a cursor's execute (a connection's does too).
    send = psycopg.AsyncCursor.execute

    async def _send(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(query))
        return await send(cursor, query, *args, **kwargs)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", _record)
    psycopg.AsyncCursor.execute = _send  # type: ignore[method-assign,assignment]
    try:
        yield seen
    finally:
        psycopg.AsyncCursor.execute = send  # type: ignore[method-assign]
        event.remove(engine, "before_cursor_execute", _record)
