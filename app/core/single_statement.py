"""One prebuilt statement as its own transaction, for the two hottest routes (the progress
heartbeat and my-courses): on PostgreSQL sent from the event loop over psycopg's async driver,
autocommit, on a bounded pool per event loop; on SQLite run in a worker thread through the
engine (`connection_scope`). With `app/core/database.py` this is the only code that opens
connections for requests.
"""

from __future__ import annotations

import asyncio
import re
import time
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from psycopg import AsyncConnection, AsyncRawCursor
from psycopg.abc import Buffer
from psycopg.rows import dict_row
from psycopg.types.datetime import TimestamptzLoader
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Connection, Executable
from sqlalchemy.sql.elements import ClauseElement
from starlette.concurrency import run_in_threadpool

from app.core.config import get_settings
from app.core.database import get_engine, on_engine_reset, server_spoke

_async_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncConnectionPool] = (
    weakref.WeakKeyDictionary()
)


# When each pooled async connection was last returned: like the sync pool
# (`_ping_idle_connections`), a connection is tested before reuse only after sitting idle or
# when the server has spoken to it since.
_returned_at: weakref.WeakKeyDictionary[AsyncConnection[Any], float] = weakref.WeakKeyDictionary()


async def _returned(connection: AsyncConnection[Any]) -> None:
    _returned_at[connection] = time.monotonic()


async def _test_if_idle(connection: AsyncConnection[Any]) -> None:
    """Ping a connection idle for `DB_POOL_PING_IDLE_SECONDS`, or one the server has spoken
    to (a dead one raises, and the pool discards it and hands out another)."""
    # A connection the pool opened in the background and never lent has no return time; it
    # can have been cut while it waited all the same.
    returned_at = _returned_at.get(connection)
    idle_seconds = get_settings().DB_POOL_PING_IDLE_SECONDS
    idle = returned_at is not None and time.monotonic() - returned_at >= idle_seconds
    if idle or server_spoke(connection):
        await AsyncConnectionPool.check_connection(connection)


class _UTCTimestamptzLoader(TimestamptzLoader):
    def load(self, data: Buffer) -> datetime:
        return super().load(data).astimezone(UTC)


async def _load_timestamps_in_utc(connection: AsyncConnection[Any]) -> None:
    """Timestamps come back in UTC, as the sync engine's UTCDateTime returns them, whatever
    the server's TimeZone: no session setting is needed (PgBouncer in transaction mode would
    not keep one, and refuses the `options` startup parameter that would carry it)."""
    connection.adapters.register_loader("timestamptz", _UTCTimestamptzLoader)


def _async_connection_options(pgbouncer: bool) -> dict[str, Any]:
    # Autocommit: each statement is its own transaction, which PgBouncer's transaction mode
    # hands to any server connection; prepared statements could not follow it there.
    return {"autocommit": True, "prepare_threshold": None} if pgbouncer else {"autocommit": True}


async def _async_pool() -> AsyncConnectionPool:
    loop = asyncio.get_running_loop()
    pool = _async_pools.get(loop)
    if pool is None:
        settings = get_settings()
        url = get_engine().url.set(drivername="postgresql")
        pool = AsyncConnectionPool(
            url.render_as_string(hide_password=False),
            min_size=0,
            max_size=settings.DB_ASYNC_POOL_SIZE,
            timeout=settings.DB_POOL_TIMEOUT_SECONDS,
            max_lifetime=settings.DB_POOL_RECYCLE_SECONDS,
            kwargs=_async_connection_options(settings.DB_PGBOUNCER),
            configure=_load_timestamps_in_utc,
            check=_test_if_idle,
            reset=_returned,
            open=False,
            name="lms-async",
        )
        _async_pools[loop] = pool
        # open() does not yield before the pool is open, so no other task sees it closed.
        await pool.open()
    return pool


_NAMED_PARAMETER = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class _NativeSQL:
    """A statement in PostgreSQL's own placeholders ($1, $2...), with the parameter names in
    their order and the values SQLAlchemy bound itself (literals in the expression)."""

    text: str
    names: tuple[str, ...]
    defaults: dict[str, Any]

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[name] if name in params else self.defaults[name] for name in self.names]


@lru_cache(maxsize=16)
def _postgresql_sql(statement: Executable) -> _NativeSQL:
    """Compiled once per statement. Native placeholders, because psycopg parses a query's
    named placeholders on every execution once the query is longer than it caches (4 KB),
    which the statements holding the release rule are."""
    assert isinstance(statement, ClauseElement)
    compiled = statement.compile(dialect=get_engine().dialect)
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    text = _NAMED_PARAMETER.sub(number, str(compiled)).replace("%%", "%")
    return _NativeSQL(text=text, names=tuple(names), defaults=dict(compiled.params))


@contextmanager
def connection_scope() -> Iterator[Connection]:
    """A transaction on a bare connection, without a session (a few prebuilt statements on a
    hot path): committed on success, rolled back on error."""
    with get_engine().begin() as connection:
        yield connection


def _fetch_in_transaction(statement: Executable, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    with connection_scope() as connection:
        return [dict(row) for row in connection.execute(statement, params).mappings()]


async def fetch_single_statement(
    statement: Executable, params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Run one prebuilt statement as its own transaction and return its rows as dicts.

    On PostgreSQL it is sent from the event loop; elsewhere (SQLite) it runs in a worker
    thread through the engine. Bound values must already be what the database stores (aware
    UTC datetimes, UUIDs): the async path skips SQLAlchemy's bind and result processing, and
    `statement` must be built once (compiled SQL is cached per statement object).
    """
    if get_engine().dialect.name != "postgresql":
        return await run_in_threadpool(_fetch_in_transaction, statement, params)
    native = _postgresql_sql(statement)
    pool = await _async_pool()
    async with pool.connection() as connection:
        # dict_row reads the column names off the result itself, without building a
        # description object per column on every call.
        cursor = AsyncRawCursor(connection, row_factory=dict_row)
        await cursor.execute(native.text, native.arguments(params))
        return await cursor.fetchall()


async def close_async_pool() -> None:
    """Close the running event loop's pool (application shutdown)."""
    pool = _async_pools.pop(asyncio.get_running_loop(), None)
    if pool is not None:
        await pool.close()


def _forget() -> None:
    _postgresql_sql.cache_clear()
    # Their connections close with their loops; a new URL needs new pools.
    _async_pools.clear()


on_engine_reset(_forget)
