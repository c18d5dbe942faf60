"""Writes of lesson progress: the monotonic upsert and the progress heartbeat."""

from __future__ import annotations

import typing
import uuid
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    Table,
    Uuid,
    bindparam,
    case,
    cast,
    exists,
    extract,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.core.database import UTCDateTime, get_engine
from app.core.single_statement import connection_scope, fetch_single_statement
from app.modules.courses import release
from app.modules.courses.models import ItemKind, Lesson
from app.modules.enrollments.models import (
    Enrollment,
    EnrollmentStatus,
    LessonProgress,
    ProgressStatus,
)
from app.modules.users.principal import Principal, principal_filter

_PROGRESS = typing.cast(Table, LessonProgress.__table__)
_ENROLLMENTS = typing.cast(Table, Enrollment.__table__)


def _greatest(current: Any, new: Any) -> ColumnElement[Any]:
    # CASE is portable; PostgreSQL spells max(a, b) GREATEST and SQLite spells it max.
    return case((current >= new, current), else_=new)


# The heartbeat runs every few seconds per watching student, so its statements are built once
# with bound parameters: building and cache-keying them on every call cost more CPU than
# executing them.


def _keep_highest(statement: Any) -> Any:
    """`statement` (an INSERT into lesson_progress) turned into a monotonic upsert: on an
    existing row, position, percentage and status never go down and time adds up."""
    new = statement.excluded
    current = _PROGRESS.c
    already_completed = current.status == ProgressStatus.COMPLETED.value
    return statement.on_conflict_do_update(
        index_elements=[current.enrollment_id, current.lesson_id],
        set_={
            "status": case((already_completed, current.status), else_=new.status),
            "started_at": func.coalesce(current.started_at, new.started_at),
            "completed_at": func.coalesce(current.completed_at, new.completed_at),
            "time_spent_seconds": current.time_spent_seconds + new.time_spent_seconds,
            "last_position_seconds": _greatest(
                current.last_position_seconds, new.last_position_seconds
            ),
            "completion_percentage": _greatest(
                current.completion_percentage, new.completion_percentage
            ),
            "attempts_count": current.attempts_count + new.attempts_count,
            "updated_at": new.updated_at,
        },
    ).returning(*_PROGRESS.c)


def _insert(dialect: str) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(_PROGRESS)
    if dialect == "sqlite":
        return sqlite.insert(_PROGRESS)
    raise RuntimeError(f"no upsert for dialect {dialect}")


@lru_cache(maxsize=4)
def _upsert_statement(dialect: str) -> Any:
    return _keep_highest(_insert(dialect))


def _progress_values(
    *,
    enrollment_id: uuid.UUID,
    lesson_id: uuid.UUID,
    position_seconds: int,
    delta_seconds: int,
    completion_percentage: Decimal,
    now: datetime,
    complete: bool,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "enrollment_id": enrollment_id,
        "lesson_id": lesson_id,
        "status": ProgressStatus.COMPLETED.value if complete else ProgressStatus.IN_PROGRESS.value,
        "started_at": now,
        "completed_at": now if complete else None,
        "time_spent_seconds": delta_seconds,
        "last_position_seconds": position_seconds,
        "completion_percentage": completion_percentage,
        "attempts_count": 1 if complete else 0,
        "created_at": now,
        "updated_at": now,
    }


def upsert_progress(
    db: Session,
    *,
    enrollment_id: uuid.UUID,
    lesson_id: uuid.UUID,
    position_seconds: int,
    delta_seconds: int,
    completion_percentage: Decimal,
    now: datetime,
    complete: bool = False,
) -> Any:
    """Insert or update the lesson's progress monotonically (a late or repeated heartbeat
    never lowers position, percentage or status). Returns the resulting row."""
    values = _progress_values(
        enrollment_id=enrollment_id,
        lesson_id=lesson_id,
        position_seconds=position_seconds,
        delta_seconds=delta_seconds,
        completion_percentage=completion_percentage,
        now=now,
        complete=complete,
    )
    return db.execute(_upsert_statement(db.get_bind().dialect.name), values).one()


def _credited_seconds(dialect: str) -> ColumnElement[int]:
    """The seconds a heartbeat adds to the time spent: its claimed delta, but never more than
    the time since the enrollment was last accessed (the first access counts in full). A
    retried or duplicated heartbeat therefore adds nothing, and no client can make time spent
    outrun the clock."""
    previous = _ENROLLMENTS.c.last_accessed_at
    now = bindparam("b_now", type_=UTCDateTime())
    delta = bindparam("b_delta", type_=Integer())
    if dialect == "postgresql":
        elapsed: ColumnElement[Any] = extract("epoch", now - previous)
    elif dialect == "sqlite":
        elapsed = (func.julianday(now) - func.julianday(previous)) * 86400
    else:
        raise RuntimeError(f"no elapsed time for dialect {dialect}")
    seconds = cast(func.round(elapsed), Integer)
    return case(
        (previous.is_(None), delta),
        (seconds <= 0, 0),
        (seconds < delta, seconds),
        else_=delta,
    )


def _own_enrollment() -> list[ColumnElement[bool]]:
    enrollments = _ENROLLMENTS.c
    return [
        enrollments.id == bindparam("b_enrollment_id", type_=Uuid()),
        enrollments.student_id == bindparam("b_student_id", type_=Uuid()),
    ]


def _lesson_open() -> ColumnElement[bool]:
    """The release rule for the heartbeat's lesson and student: the same SQL the guards use."""
    return release.target_open(
        ItemKind.LESSON,
        bindparam("b_lesson_id", type_=Uuid()),
        student_id=bindparam("b_student_id", type_=Uuid()),
        now=bindparam("b_now", type_=UTCDateTime()),
    )


@release.built_from_rule
def _credit_statement(dialect: str) -> Any:
    """The credit of `_credited_seconds` for the student's enrollment (no row: not theirs, or
    the lesson is locked for them)."""
    return select(_credited_seconds(dialect).label("credited")).where(
        *_own_enrollment(), _lesson_open()
    )


def _touch_statement(credited: ColumnElement[int], *extra: ColumnElement[bool]) -> Any:
    """Record access and `credited` seconds on the enrollment, only if it is the live
    enrollment of an active student whose token is current, and the lesson is a published
    lesson of its course."""
    enrollments = _ENROLLMENTS.c
    lessons = Lesson.__table__.c
    now = bindparam("b_now", type_=UTCDateTime())
    lesson_in_course = exists().where(
        lessons.id == bindparam("b_lesson_id", type_=Uuid()),
        lessons.course_id == enrollments.course_id,
        lessons.is_published.is_(True),
    )
    return (
        update(_ENROLLMENTS)
        .where(
            *_own_enrollment(),
            *extra,
            # Not IN (live statuses): an expanding IN is re-rendered on every execution.
            enrollments.status != EnrollmentStatus.DROPPED.value,
            lesson_in_course,
            principal_filter(
                bindparam("b_student_id", type_=Uuid()),
                bindparam("b_token_version", type_=Integer()),
                bindparam("b_token_id", type_=String()),
            ),
        )
        .values(
            total_time_spent_seconds=enrollments.total_time_spent_seconds + credited,
            last_accessed_at=now,
            started_at=func.coalesce(enrollments.started_at, now),
            updated_at=now,
        )
    )


@lru_cache(maxsize=1)
def _sqlite_touch_statement() -> Any:
    return _touch_statement(bindparam("b_credited", type_=Integer()))


@release.built_from_rule
def _heartbeat_statement() -> Any:
    """PostgreSQL: the credit, the touch and the progress upsert as one statement. The credit
    is read under a row lock, so concurrent retries of one heartbeat cannot both see the old
    access time; the upsert inserts from the touched row, so nothing is written unless the
    touch matched. Its values are bound under the column names `_progress_values` uses, as
    for the upsert alone."""
    enrollments = _ENROLLMENTS.c
    previous = (
        select(enrollments.id, _credited_seconds("postgresql").label("credited"))
        .where(*_own_enrollment(), _lesson_open())
        .with_for_update(of=_ENROLLMENTS)
        .cte("previous")
    )
    touched = (
        _touch_statement(previous.c.credited, enrollments.id == previous.c.id)
        .returning(enrollments.id, previous.c.credited)
        .cte("touched")
    )
    columns = [column.name for column in _PROGRESS.c]
    sources = {"enrollment_id": touched.c.id, "time_spent_seconds": touched.c.credited}
    row = select(
        *(sources.get(name, bindparam(name, type_=_PROGRESS.c[name].type)) for name in columns)
    )
    return _keep_highest(postgresql.insert(_PROGRESS).from_select(columns, row))


def _touch_then_upsert(touch: dict[str, Any], values: dict[str, Any]) -> dict[str, Any] | None:
    # BEGIN IMMEDIATE (see database.py): the write lock is held from the credit's read on.
    with connection_scope() as connection:
        credited = connection.execute(_credit_statement(connection.dialect.name), touch).scalar()
        if credited is None:
            return None
        touched = connection.execute(_sqlite_touch_statement(), {**touch, "b_credited": credited})
        if touched.rowcount != 1:
            return None
        values = {**values, "time_spent_seconds": credited}
        row = connection.execute(_upsert_statement(connection.dialect.name), values).one()
        return dict(row._mapping)


async def record_heartbeat(
    *,
    enrollment_id: uuid.UUID,
    lesson_id: uuid.UUID,
    principal: Principal,
    position_seconds: int,
    delta_seconds: int,
    completion_percentage: Decimal,
    now: datetime,
) -> dict[str, Any] | None:
    """The heartbeat's write, in a transaction of its own: credit time (`_credited_seconds`),
    touch the enrollment and upsert the lesson's progress, the writes only if the touch's
    conditions hold. Returns the progress row, or None when nothing matched (the caller
    explains why).

    On PostgreSQL this is one statement, sent from the event loop; SQLite cannot write in a
    CTE, so there it is the credit's read, the touch, then the upsert, in one transaction in a
    worker thread.
    """
    touch = {
        "b_enrollment_id": enrollment_id,
        "b_student_id": principal.user_id,
        "b_token_version": principal.token_version,
        "b_token_id": principal.token_id,
        "b_lesson_id": lesson_id,
        "b_delta": delta_seconds,
        "b_now": now,
    }
    values = _progress_values(
        enrollment_id=enrollment_id,
        lesson_id=lesson_id,
        position_seconds=position_seconds,
        delta_seconds=delta_seconds,
        completion_percentage=completion_percentage,
        now=now,
        complete=False,
    )
    if get_engine().dialect.name == "postgresql":
        rows = await fetch_single_statement(_heartbeat_statement(), {**touch, **values})
        return rows[0] if rows else None
    return await run_in_threadpool(_touch_then_upsert, touch, values)
