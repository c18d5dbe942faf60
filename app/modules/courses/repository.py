"""Queries for courses and lessons. Aggregates (lesson count, duration, enrollments,
rating) are correlated subqueries, so a page of courses costs one statement."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.core.pagination import PageParams
from app.modules.courses import release
from app.modules.courses.models import (
    ENROLLED_STATUSES,
    Cohort,
    Course,
    Enrollment,
    ItemKind,
    Lesson,
)
from app.modules.courses.schemas import CourseSort
from app.modules.users.models import User


@dataclass(frozen=True)
class CourseFilters:
    category: str | None = None
    difficulty_level: str | None = None
    instructor_id: uuid.UUID | None = None
    is_free: bool | None = None
    search: str | None = None


@dataclass(frozen=True)
class CourseWithStats:
    course: Course
    instructor_name: str
    lesson_count: int
    total_duration_minutes: int
    enrollment_count: int
    average_rating: float | None
    rating_count: int


# What a course's lesson count and duration cover: the lessons its students see (published,
# and not in an unpublished section).
_SHOWN_LESSON = (
    Lesson.is_published.is_(True),
    release.visible_to_students(ItemKind.LESSON, Lesson.id),
)


def _lesson_count() -> ColumnElement[int]:
    return (
        select(func.count(Lesson.id))
        .where(Lesson.course_id == Course.id, *_SHOWN_LESSON)
        .correlate(Course)
        .scalar_subquery()
    )


def _total_duration() -> ColumnElement[int]:
    return (
        select(func.coalesce(func.sum(Lesson.duration_minutes), 0))
        .where(Lesson.course_id == Course.id, *_SHOWN_LESSON)
        .correlate(Course)
        .scalar_subquery()
    )


def _enrollment_count() -> ColumnElement[int]:
    return (
        select(func.count(Enrollment.id))
        .where(Enrollment.course_id == Course.id, Enrollment.status.in_(ENROLLED_STATUSES))
        .correlate(Course)
        .scalar_subquery()
    )


def _average_rating() -> ColumnElement[Any]:
    return (
        select(func.avg(Enrollment.rating))
        .where(Enrollment.course_id == Course.id, Enrollment.status.in_(ENROLLED_STATUSES))
        .correlate(Course)
        .scalar_subquery()
    )


def _rating_count() -> ColumnElement[int]:
    return (
        select(func.count(Enrollment.rating))
        .where(Enrollment.course_id == Course.id, Enrollment.status.in_(ENROLLED_STATUSES))
        .correlate(Course)
        .scalar_subquery()
    )


def _with_stats(statement_filter: Sequence[ColumnElement[bool]]) -> tuple[Select[Any], Any]:
    enrollment_count = _enrollment_count().label("enrollment_count")
    average_rating = _average_rating().label("average_rating")
    statement = (
        select(
            Course,
            User.full_name.label("instructor_name"),
            _lesson_count().label("lesson_count"),
            _total_duration().label("total_duration_minutes"),
            enrollment_count,
            average_rating,
            _rating_count().label("rating_count"),
        )
        .join(User, User.id == Course.instructor_id)
        .where(*statement_filter)
    )
    return statement, (enrollment_count, average_rating)


def _to_stats(row: Any) -> CourseWithStats:
    average = row.average_rating
    return CourseWithStats(
        course=row.Course,
        instructor_name=row.instructor_name,
        lesson_count=int(row.lesson_count or 0),
        total_duration_minutes=int(row.total_duration_minutes or 0),
        enrollment_count=int(row.enrollment_count or 0),
        average_rating=round(float(average), 2) if average is not None else None,
        rating_count=int(row.rating_count or 0),
    )


def _filter_clauses(filters: CourseFilters) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if filters.category:
        clauses.append(Course.category == filters.category)
    if filters.difficulty_level:
        clauses.append(Course.difficulty_level == filters.difficulty_level)
    if filters.instructor_id:
        clauses.append(Course.instructor_id == filters.instructor_id)
    if filters.is_free is True:
        clauses.append(Course.price <= 0)
    elif filters.is_free is False:
        clauses.append(Course.price > 0)
    if filters.search:
        # autoescape: "a_b" or "100%" match that literal text, not LIKE wildcards.
        term = filters.search.lower()
        clauses.append(
            or_(
                func.lower(Course.title).contains(term, autoescape=True),
                func.lower(func.coalesce(Course.description, "")).contains(term, autoescape=True),
            )
        )
    return clauses


def list_courses(
    db: Session,
    *,
    filters: CourseFilters,
    sort: CourseSort,
    params: PageParams,
    published_only: bool,
    within: Select[uuid.UUID] | None = None,
) -> tuple[list[CourseWithStats], int]:
    """A page of courses; `within` (a select of course ids) narrows them, e.g. to the
    courses a user teaches."""
    clauses = _filter_clauses(filters)
    if published_only:
        clauses += [Course.is_published.is_(True), Course.archived_at.is_(None)]
    if within is not None:
        clauses.append(Course.id.in_(within))
    statement, (enrollment_count, average_rating) = _with_stats(clauses)
    order: list[Any]
    if sort is CourseSort.TITLE:
        order = [func.lower(Course.title).asc()]
    elif sort is CourseSort.POPULARITY:
        order = [enrollment_count.desc(), Course.created_at.desc()]
    elif sort is CourseSort.RATING:
        # Unrated courses last on every backend (NULLS LAST is not portable).
        order = [
            case((average_rating.is_(None), 1), else_=0),
            average_rating.desc(),
            Course.created_at.desc(),
        ]
    else:
        order = [Course.created_at.desc()]
    statement = statement.order_by(*order, Course.id).limit(params.page_size).offset(params.offset)
    rows = db.execute(statement).all()
    total = db.scalar(select(func.count(Course.id)).where(*clauses)) or 0
    return [_to_stats(row) for row in rows], int(total)


def get_course_with_stats(db: Session, course_id: uuid.UUID) -> CourseWithStats | None:
    statement, _ = _with_stats([Course.id == course_id])
    row = db.execute(statement).first()
    return _to_stats(row) if row is not None else None


def get_course(db: Session, course_id: uuid.UUID, *, for_update: bool = False) -> Course | None:
    if not for_update:
        return db.get(Course, course_id)
    return db.scalars(
        select(Course)
        .where(Course.id == course_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def get_course_id_by_slug(db: Session, slug: str) -> uuid.UUID | None:
    return db.scalar(select(Course.id).where(Course.slug == slug))


def existing_course_slugs(db: Session, base: str) -> set[str]:
    return set(
        db.scalars(
            select(Course.slug).where(
                or_(Course.slug == base, Course.slug.startswith(f"{base}-", autoescape=True))
            )
        )
    )


def existing_lesson_slugs(db: Session, course_id: uuid.UUID, base: str) -> set[str]:
    return set(
        db.scalars(
            select(Lesson.slug).where(
                Lesson.course_id == course_id,
                or_(Lesson.slug == base, Lesson.slug.startswith(f"{base}-", autoescape=True)),
            )
        )
    )


def enrolled_filter(*, student_id: uuid.UUID, course_id: Any) -> ColumnElement[bool]:
    """The enrollment rows that make `student_id` enrolled in `course_id` (a value or a
    column): active or completed."""
    return and_(
        Enrollment.student_id == student_id,
        Enrollment.course_id == course_id,
        Enrollment.status.in_(ENROLLED_STATUSES),
    )


def is_enrolled(db: Session, *, student_id: uuid.UUID, course_id: uuid.UUID) -> bool:
    return bool(
        db.scalar(
            select(exists().where(enrolled_filter(student_id=student_id, course_id=course_id)))
        )
    )


def course_has_enrollments(db: Session, course_id: uuid.UUID) -> bool:
    return (
        db.scalar(select(Enrollment.id).where(Enrollment.course_id == course_id).limit(1))
        is not None
    )


def published_lesson_count(db: Session, course_id: uuid.UUID) -> int:
    return int(
        db.scalar(
            select(func.count(Lesson.id)).where(
                Lesson.course_id == course_id, Lesson.is_published.is_(True)
            )
        )
        or 0
    )


def get_lesson(db: Session, lesson_id: uuid.UUID) -> Lesson | None:
    return db.get(Lesson, lesson_id)


def list_lessons(
    db: Session,
    course_id: uuid.UUID,
    *,
    published_only: bool,
    visible: ColumnElement[bool] | None = None,
) -> list[Lesson]:
    statement = select(Lesson).where(Lesson.course_id == course_id)
    if published_only:
        statement = statement.where(Lesson.is_published.is_(True))
    if visible is not None:
        statement = statement.where(visible)
    return list(db.scalars(statement.order_by(Lesson.order_index, Lesson.created_at)))


def preview_lesson_ids(db: Session, course_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        db.scalars(
            select(Lesson.id).where(
                Lesson.course_id == course_id,
                Lesson.is_preview.is_(True),
                Lesson.is_published.is_(True),
            )
        )
    )


def lesson_ids_in_order(db: Session, course_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        db.scalars(
            select(Lesson.id)
            .where(Lesson.course_id == course_id)
            .order_by(Lesson.order_index, Lesson.created_at)
        )
    )


def next_order_index(db: Session, course_id: uuid.UUID) -> int:
    current = db.scalar(select(func.max(Lesson.order_index)).where(Lesson.course_id == course_id))
    return 0 if current is None else int(current) + 1


def rewrite_positions(
    db: Session,
    position: InstrumentedAttribute[int],
    scope: ColumnElement[bool],
    ordered: Sequence[uuid.UUID],
) -> None:
    """Rewrite the `position` column of the rows in `scope` in one statement: 0..n-1 in the
    order of `ordered` (their ids)."""
    if not ordered:
        return
    model = position.class_
    positions = {row_id: index for index, row_id in enumerate(ordered)}
    db.execute(
        update(model)
        .where(scope)
        .values({position.key: case(positions, value=model.id)})
        .execution_options(synchronize_session="fetch")
    )


def set_lesson_order(db: Session, course_id: uuid.UUID, ordered_ids: Sequence[uuid.UUID]) -> None:
    rewrite_positions(db, Lesson.order_index, Lesson.course_id == course_id, ordered_ids)


def cohort_in_course(db: Session, *, course_id: uuid.UUID, cohort_id: uuid.UUID) -> bool:
    return bool(
        db.scalar(select(exists().where(Cohort.id == cohort_id, Cohort.course_id == course_id)))
    )
