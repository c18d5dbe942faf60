"""Engine, sessions, declarative base and the transaction contract.

The request's session commits on success and rolls back on error; services and repositories
only `flush()`. Work that must happen after a commit (tasks, events) is registered with
`after_commit()` and dropped if the transaction rolls back.
"""

from __future__ import annotations

import select
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import psycopg
from sqlalchemy import (
    DateTime,
    Engine,
    MetaData,
    Uuid,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator
from starlette.concurrency import run_in_threadpool

from app.core.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), uuid.UUID: Uuid()}


class UUIDPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, nullable=False)


def build_engine(url: str | None = None) -> Engine:
    settings = get_settings()
    url = url or settings.DATABASE_URL
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            from pathlib import Path

            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=settings.SQLALCHEMY_ECHO,
            connect_args={"check_same_thread": False, "timeout": 30},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy manage transactions: pysqlite's own BEGIN handling defers
            # locking, which makes SELECT ... then UPDATE racy under concurrent writers.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # IMMEDIATE takes the write lock up front so two writers serialize instead of
            # failing with "database is locked" on upgrade from a read lock.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    engine = create_engine(
        url,
        echo=settings.SQLALCHEMY_ECHO,
        # Behind PgBouncer in transaction mode consecutive transactions may reach different
        # server connections, where a statement prepared on another is unknown.
        connect_args={"prepare_threshold": None} if settings.DB_PGBOUNCER else {},
        pool_size=settings.DB_POOL_SIZE,
        max_overflow=settings.DB_MAX_OVERFLOW,
        pool_timeout=settings.DB_POOL_TIMEOUT_SECONDS,
        pool_recycle=settings.DB_POOL_RECYCLE_SECONDS,
    )
    _ping_idle_connections(engine, settings.DB_POOL_PING_IDLE_SECONDS)
    return engine


def server_spoke(connection: Any) -> bool:
    """Whether an idle pooled connection has something to read, without a round trip.

    Nothing arrives unasked on a connection between statements except the server's goodbye:
    a terminated backend (restart, failover, `pg_terminate_backend`) sends its error and
    closes the socket, which then polls readable. A broken connection counts as spoken."""
    try:
        poller = select.poll()
        poller.register(connection.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError, psycopg.Error):
        return True


def _ping_idle_connections(engine: Engine, idle_seconds: int) -> None:
    """Test a pooled connection before handing it out when it may be dead.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: one more round trip per request.
    Here a connection is pinged only when the server has sent it something since it was
    returned (it says goodbye when its backend is terminated: see `server_spoke`, a poll of
    the socket that costs no round trip) or when it sat idle for `idle_seconds` (a network
    that dropped it silently). A dead one is replaced before the request uses it, so a
    database restart or failover costs no request an error.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get("returned_at")
        idle = returned_at is not None and time.monotonic() - returned_at >= idle_seconds
        if not idle and not server_spoke(dbapi_connection):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError("pooled connection is dead") from exc


@lru_cache
def get_engine() -> Engine:
    return build_engine()


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False, autoflush=True)


_engine_resets: list[Callable[[], None]] = []


def on_engine_reset(forget: Callable[[], None]) -> None:
    """Register what must be forgotten with the engine (what was built for its database)."""
    _engine_resets.append(forget)


def reset_engine() -> None:
    """Forget the cached engine (tests and CLI commands that switch databases)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    get_sessionmaker.cache_clear()
    for forget in _engine_resets:
        forget()


# --- after-commit hooks -------------------------------------------------------------------

_HOOKS_KEY = "lms_after_commit"
_SAVEPOINTS_KEY = "lms_after_commit_savepoints"


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once this session's transaction commits; drop it on rollback."""
    session.info.setdefault(_HOOKS_KEY, []).append(callback)


# SQLAlchemy fires after_commit/after_rollback for savepoints (begin_nested) too. Releasing a
# savepoint is not the commit, and rolling one back must drop only the callbacks registered
# inside it, so each savepoint remembers how many callbacks existed when it began.
@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: Any) -> None:
    if transaction.nested:
        marks = session.info.setdefault(_SAVEPOINTS_KEY, {})
        marks[transaction] = len(session.info.get(_HOOKS_KEY, []))


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    savepoint = session.get_nested_transaction()
    if savepoint is not None:
        session.info.get(_SAVEPOINTS_KEY, {}).pop(savepoint, None)
        return
    session.info.pop(_SAVEPOINTS_KEY, None)
    callbacks = session.info.pop(_HOOKS_KEY, [])
    for callback in callbacks:
        callback()


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    savepoint = session.get_nested_transaction()
    if savepoint is not None:
        mark = session.info.get(_SAVEPOINTS_KEY, {}).pop(savepoint, None)
        if mark is not None:
            del session.info.get(_HOOKS_KEY, [])[mark:]
        return
    session.info.pop(_SAVEPOINTS_KEY, None)
    session.info.pop(_HOOKS_KEY, None)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work outside a request (tasks, CLI): commit on success, roll back on error."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def checkpointed_scope() -> Iterator[tuple[Session, Callable[[], None]]]:
    """A unit of work for a long job that commits in steps (an import applying batches):
    `session_scope`'s contract, plus `checkpoint()`, which commits what is done so far and
    forgets the loaded objects so memory stays flat. An error rolls back the step under way
    only."""
    session = get_sessionmaker()()

    def checkpoint() -> None:
        session.commit()
        session.expunge_all()

    try:
        yield session, checkpoint
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# --- one statement on the event loop ----------------------------------------------------
#
# The hottest requests (the progress heartbeat, a student's course list) are one statement
# each. Sending that statement from a worker thread cost more CPU than the statement itself
# (the hop to the thread and back, and the threads contending for the GIL), so on PostgreSQL
# it is sent from the event loop with psycopg's async driver, through a small pool per event
# loop (an asyncio connection belongs to the loop that opened it). The statement runs in
# autocommit: it is its own transaction, with no BEGIN or COMMIT round trips around it.

# Set once a transaction has written (a flush, or an INSERT/UPDATE/DELETE statement), until it
# ends: `outside_transaction` must not discard writes.
_WROTE_KEY = "lms_wrote"


@event.listens_for(Session, "after_flush")
def _wrote_by_flush(session: Session, _context: Any) -> None:
    session.info[_WROTE_KEY] = True


@event.listens_for(Session, "do_orm_execute")
def _wrote_by_statement(state: Any) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE_KEY] = True


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE_KEY, None)


def release_connection(session: Session) -> None:
    """End `session`'s transaction, which must only have read, and return its connection to
    the pool (on SQLite, also its lock). The objects it loaded stay loaded and usable (the
    sessions do not expire them on commit). The session begins a new transaction when it is
    next used. Refused for a transaction that has written or holds after-commit work: those
    belong to its owner's commit.

    The transaction is committed, not rolled back: for one that only read both are the same,
    but psycopg forgets every statement it has prepared on a ROLLBACK, so PostgreSQL would
    plan each statement of every request again."""
    if (
        session.new
        or session.dirty
        or session.deleted
        or session.info.get(_WROTE_KEY)
        or session.info.get(_HOOKS_KEY)
    ):
        raise RuntimeError("a connection is released only from a transaction that has only read")
    if session.in_transaction():
        session.commit()


@contextmanager
def outside_transaction(session: Session) -> Iterator[None]:
    """Run the block (a call to a payment gateway's API) with no transaction open and no
    connection held on `session`, then go on with the same session. Held open across that
    wait, a transaction would keep its pooled connection and, on SQLite, the database's write
    lock. The block must not use the session."""
    release_connection(session)
    yield
    if session.in_transaction():
        raise RuntimeError("the session was used inside outside_transaction()")


def _has_work(session: Session) -> bool:
    return session.in_transaction() or bool(session.info.get(_HOOKS_KEY))


def finish_request_transaction(session: Session) -> None:
    """Commit what the request did so far, in the calling (worker) thread; `get_db` then
    has nothing left to do."""
    if _has_work(session):
        session.commit()


async def get_db() -> AsyncIterator[Session]:
    """The request's session, with the contract of `session_scope`.

    Creating a session does no I/O, so it happens on the event loop; the commit (or rollback)
    runs in a worker thread, and only when the request began a transaction: a request that
    never touched the database does not wait for a thread at all, and sync endpoints commit in
    their own thread (`app.core.routing`), leaving only errors to roll back here.
    """
    session = get_sessionmaker()()
    try:
        yield session
        if _has_work(session):
            await run_in_threadpool(session.commit)
    except BaseException:
        if session.in_transaction():
            await run_in_threadpool(session.rollback)
        raise
    finally:
        session.close()


def check_database() -> None:
    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1"))
