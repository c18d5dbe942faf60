"""Queries for enrollments and lesson progress, including the heartbeat."""

from __future__ import annotations

import typing
import uuid
from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Numeric,
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
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload
from starlette.concurrency import run_in_threadpool

from app.core.database import (
    UTCDateTime,
    connection_scope,
    fetch_single_statement,
    get_engine,
    utcnow,
)
from app.core.pagination import PageParams
from app.modules.auth.principal import Principal, principal_filter
from app.modules.courses import next_item, release
from app.modules.courses.models import Course, ItemKind, Lesson
from app.modules.enrollments.models import (
    Enrollment,
    EnrollmentStatus,
    LessonProgress,
    ProgressStatus,
)
from app.modules.users.models import User

_PROGRESS = typing.cast(Table, LessonProgress.__table__)
_ENROLLMENTS = typing.cast(Table, Enrollment.__table__)
_LIVE_STATUSES = (EnrollmentStatus.ACTIVE.value, EnrollmentStatus.COMPLETED.value)


def _greatest(current: Any, new: Any) -> ColumnElement[Any]:
    # CASE is portable; PostgreSQL spells max(a, b) GREATEST and SQLite spells it max.
    return case((current >= new, current), else_=new)


def get(db: Session, enrollment_id: uuid.UUID, *, for_update: bool = False) -> Enrollment | None:
    if not for_update:
        return db.get(Enrollment, enrollment_id)
    return db.scalars(
        select(Enrollment)
        .where(Enrollment.id == enrollment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def get_with_course(db: Session, enrollment_id: uuid.UUID) -> Enrollment | None:
    return db.scalars(
        select(Enrollment)
        .options(joinedload(Enrollment.course))
        .where(Enrollment.id == enrollment_id)
    ).one_or_none()


def get_for_student(
    db: Session, student_id: uuid.UUID, course_id: uuid.UUID, *, for_update: bool = False
) -> Enrollment | None:
    statement = select(Enrollment).where(
        Enrollment.student_id == student_id, Enrollment.course_id == course_id
    )
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return db.scalars(statement).one_or_none()


def for_students(
    db: Session, course_id: uuid.UUID, student_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Enrollment]:
    """The course's enrollments (any status) of `student_ids`, locked, in one query."""
    if not student_ids:
        return {}
    rows = db.scalars(
        select(Enrollment)
        .where(Enrollment.course_id == course_id, Enrollment.student_id.in_(list(student_ids)))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {enrollment.student_id: enrollment for enrollment in rows}


def drop_enrollments(
    db: Session, *, pairs: Collection[tuple[uuid.UUID, uuid.UUID]], now: datetime
) -> None:
    """Drop the enrollments of the (student_id, course_id) pairs that are not dropped yet, in
    one UPDATE (which locks the rows it changes)."""
    if not pairs:
        return
    db.execute(
        update(Enrollment)
        .where(
            tuple_(Enrollment.student_id, Enrollment.course_id).in_(list(pairs)),
            Enrollment.status != EnrollmentStatus.DROPPED.value,
        )
        .values(status=EnrollmentStatus.DROPPED.value, dropped_at=now, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )


# The columns of `CourseSummary` besides its id (the enrollment's course_id), selected beside
# the enrollment as `course_<name>`.
COURSE_SUMMARY_COLUMNS = (
    "title",
    "slug",
    "instructor_id",
    "category",
    "difficulty_level",
    "thumbnail_url",
    "is_published",
)


def _listed_status(status: Any) -> ColumnElement[bool]:
    """The statuses a student's list shows: the one asked for, else the live ones (not an
    IN list: an expanding IN is re-rendered on every execution)."""
    if status is None:
        return _ENROLLMENTS.c.status != EnrollmentStatus.DROPPED.value
    return typing.cast(ColumnElement[bool], _ENROLLMENTS.c.status == status)


@lru_cache(maxsize=2)
def _student_page_statement(filtered: bool) -> Any:
    """One page of a student's enrollments with their course summaries, each course's next
    item under the release rule (`courses.next_item`), and the total count (a window
    function, so one statement answers both), only while the student is active at the
    token's version. Built once: constructing it per call costs more than running it."""
    courses = typing.cast(Table, Course.__table__)
    student_id = bindparam("b_student_id", type_=Uuid())
    source, next_columns = next_item.joined(
        _ENROLLMENTS.join(courses, courses.c.id == _ENROLLMENTS.c.course_id),
        course_id=_ENROLLMENTS.c.course_id,
        student_id=student_id,
        now=bindparam("b_now", type_=UTCDateTime()),
    )
    return (
        select(
            *_ENROLLMENTS.c,
            *(courses.c[name].label(f"course_{name}") for name in COURSE_SUMMARY_COLUMNS),
            *next_columns,
            func.count().over().label("total"),
        )
        .select_from(source)
        .where(
            _ENROLLMENTS.c.student_id == student_id,
            _listed_status(bindparam("b_status") if filtered else None),
            principal_filter(
                student_id,
                bindparam("b_token_version", type_=Integer()),
                bindparam("b_token_id", type_=String()),
            ),
        )
        .order_by(_ENROLLMENTS.c.enrolled_at.desc(), _ENROLLMENTS.c.id)
        .limit(bindparam("b_limit", type_=Integer()))
        .offset(bindparam("b_offset", type_=Integer()))
    )


async def student_page(
    principal: Principal, status: str | None, params: PageParams
) -> list[dict[str, Any]]:
    """Rows of enrollment columns plus `course_*` summary columns and `total`. Empty when the
    page is empty, and also when the principal's user is not active at its token's version
    (the caller tells the two apart)."""
    return await fetch_single_statement(
        _student_page_statement(status is not None),
        {
            "b_student_id": principal.user_id,
            "b_token_version": principal.token_version,
            "b_token_id": principal.token_id,
            "b_status": status,
            "b_now": utcnow(),
            "b_limit": params.page_size,
            "b_offset": params.offset,
        },
    )


def count_for_student(db: Session, student_id: uuid.UUID, status: str | None) -> int:
    total = db.scalar(
        select(func.count())
        .select_from(_ENROLLMENTS)
        .where(_ENROLLMENTS.c.student_id == student_id, _listed_status(status))
    )
    return int(total or 0)


def list_for_course(
    db: Session, course_id: uuid.UUID, status: str | None, params: PageParams
) -> tuple[list[tuple[Enrollment, User]], int]:
    clauses = [Enrollment.course_id == course_id]
    if status:
        clauses.append(Enrollment.status == status)
    total = db.scalar(select(func.count(Enrollment.id)).where(*clauses)) or 0
    rows = db.execute(
        select(Enrollment, User)
        .join(User, User.id == Enrollment.student_id)
        .where(*clauses)
        .order_by(Enrollment.enrolled_at.desc(), Enrollment.id)
        .limit(params.page_size)
        .offset(params.offset)
    ).all()
    return [(row[0], row[1]) for row in rows], int(total)


def course_stats(db: Session, course_id: uuid.UUID) -> Any:
    live = Enrollment.status.in_(_LIVE_STATUSES)
    return db.execute(
        select(
            func.count(Enrollment.id).label("total"),
            func.coalesce(func.sum(case((Enrollment.status == "active", 1), else_=0)), 0).label(
                "active"
            ),
            func.coalesce(func.sum(case((Enrollment.status == "completed", 1), else_=0)), 0).label(
                "completed"
            ),
            func.coalesce(func.sum(case((Enrollment.status == "dropped", 1), else_=0)), 0).label(
                "dropped"
            ),
            func.avg(case((live, Enrollment.progress_percentage))).label("average_progress"),
            func.avg(case((live, Enrollment.rating))).label("average_rating"),
            func.count(case((live, Enrollment.rating))).label("rating_count"),
        ).where(Enrollment.course_id == course_id)
    ).one()


def progress_rows(db: Session, enrollment_id: uuid.UUID) -> list[LessonProgress]:
    return list(
        db.scalars(
            select(LessonProgress)
            .join(Lesson, Lesson.id == LessonProgress.lesson_id)
            .where(LessonProgress.enrollment_id == enrollment_id)
            .order_by(Lesson.order_index)
        )
    )


# The lessons a course's progress counts: published, and not optional items of a section.
_COUNTED_LESSON = (
    Lesson.is_published.is_(True),
    release.counts_for_completion(ItemKind.LESSON, Lesson.id),
)


def published_lesson_total(db: Session, course_id: uuid.UUID) -> int:
    return int(
        db.scalar(
            select(func.count(Lesson.id)).where(Lesson.course_id == course_id, *_COUNTED_LESSON)
        )
        or 0
    )


def completed_lesson_totals(
    db: Session, enrollment_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """`completed_lesson_total` of many enrollments in one grouped query (absent: 0)."""
    if not enrollment_ids:
        return {}
    rows = db.execute(
        select(LessonProgress.enrollment_id, func.count(LessonProgress.id))
        .join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .where(
            LessonProgress.enrollment_id.in_(list(enrollment_ids)),
            LessonProgress.status == ProgressStatus.COMPLETED.value,
            *_COUNTED_LESSON,
        )
        .group_by(LessonProgress.enrollment_id)
    )
    return {enrollment_id: int(count) for enrollment_id, count in rows}


def completed_lesson_total(db: Session, enrollment_id: uuid.UUID) -> int:
    return int(
        db.scalar(
            select(func.count(LessonProgress.id))
            .join(Lesson, Lesson.id == LessonProgress.lesson_id)
            .where(
                LessonProgress.enrollment_id == enrollment_id,
                LessonProgress.status == ProgressStatus.COMPLETED.value,
                *_COUNTED_LESSON,
            )
        )
        or 0
    )


def recalculate_course(db: Session, course_id: uuid.UUID) -> None:
    """Refresh every live enrollment's counts after the course's published lessons changed,
    in one UPDATE with correlated subqueries."""
    total = (
        select(func.count(Lesson.id))
        .where(Lesson.course_id == course_id, *_COUNTED_LESSON)
        .scalar_subquery()
    )
    completed = (
        select(func.count(LessonProgress.id))
        .join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .where(
            LessonProgress.enrollment_id == Enrollment.id,
            LessonProgress.status == ProgressStatus.COMPLETED.value,
            *_COUNTED_LESSON,
        )
        .correlate(Enrollment)
        .scalar_subquery()
    )
    percentage = case(
        (total == 0, 0),
        else_=func.round(cast(completed * 100, Numeric(10, 4)) / total, 2),
    )
    db.execute(
        update(Enrollment)
        .where(Enrollment.course_id == course_id, Enrollment.status.in_(_LIVE_STATUSES))
        .values(
            total_lessons_count=total,
            completed_lessons_count=completed,
            progress_percentage=percentage,
        )
        .execution_options(synchronize_session=False)
    )
    db.expire_all()


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


@lru_cache(maxsize=4)
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


@lru_cache(maxsize=1)
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
