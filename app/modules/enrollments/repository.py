"""Queries for enrollments and their progress counts (progress writes: `progress_repository`)."""

from __future__ import annotations

import typing
import uuid
from collections.abc import Collection
from datetime import datetime
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
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session, joinedload

from app.core.database import UTCDateTime, utcnow
from app.core.pagination import PageParams
from app.core.single_statement import fetch_single_statement
from app.modules.courses import next_item, release
from app.modules.courses.models import Course, ItemKind, Lesson
from app.modules.enrollments.models import (
    Enrollment,
    EnrollmentStatus,
    LessonProgress,
    ProgressStatus,
)
from app.modules.users.models import User
from app.modules.users.principal import Principal, principal_filter

_PROGRESS = typing.cast(Table, LessonProgress.__table__)
_ENROLLMENTS = typing.cast(Table, Enrollment.__table__)
_LIVE_STATUSES = (EnrollmentStatus.ACTIVE.value, EnrollmentStatus.COMPLETED.value)


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


@release.built_from_rule
def _student_page_statement(filtered: bool) -> Any:
    """One page of a student's enrollments with their course summaries, each course's next
    item under the release rule (`courses.next_item`), and the total count (a window
    function, so one statement answers both), only while the student is active at the
    token's version. The next item is found for the page's rows only, then joined by id.
    Built once: constructing it per call costs more than running it."""
    courses = typing.cast(Table, Course.__table__)
    student_id = bindparam("b_student_id", type_=Uuid())
    page = (
        select(
            *_ENROLLMENTS.c,
            *(courses.c[name].label(f"course_{name}") for name in COURSE_SUMMARY_COLUMNS),
            func.count().over().label("total"),
            next_item.next_item_id(
                _ENROLLMENTS.c.course_id, student_id, bindparam("b_now", type_=UTCDateTime())
            ).label("found_item_id"),
        )
        .join_from(_ENROLLMENTS, courses, courses.c.id == _ENROLLMENTS.c.course_id)
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
        .subquery("page")
    )
    source, next_columns = next_item.joined(page, page.c.found_item_id)
    return (
        select(*(column for column in page.c if column.name != "found_item_id"), *next_columns)
        .select_from(source)
        .order_by(page.c.enrolled_at.desc(), page.c.id)
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


# The lessons a course's progress counts: published, not in an unpublished section (what a
# student cannot see, they cannot complete), and not optional items of a section.
_COUNTED_LESSON = (
    Lesson.is_published.is_(True),
    release.visible_to_students(ItemKind.LESSON, Lesson.id),
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
