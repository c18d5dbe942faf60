"""Read-only reporting queries over the other modules' tables.

Every number is an SQL aggregate (COUNT/SUM/AVG with GROUP BY); Python only shapes the
handful of result rows. Date buckets are computed by the database in UTC, with one
expression per dialect (SQLite and PostgreSQL).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, select
from sqlalchemy.orm import Session

from app.modules.certificates.models import Certificate
from app.modules.courses.access import Capability, managed_course_ids
from app.modules.courses.models import Course, Lesson
from app.modules.enrollments.models import Enrollment, LessonProgress
from app.modules.quizzes.models import Quiz, QuizAttempt
from app.modules.users.models import User

Granularity = Literal["day", "week"]

COMPLETED = "completed"
ACTIVE = "active"
DROPPED = "dropped"
GRADED = "graded"


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _enrollment_status_counts() -> tuple[ColumnElement[int], ...]:
    """`total`, `active`, `completed`, `dropped`: the columns of an `EnrollmentCounts`."""
    return (
        func.count(Enrollment.id).label("total"),
        _count_if(Enrollment.status == ACTIVE).label("active"),
        _count_if(Enrollment.status == COMPLETED).label("completed"),
        _count_if(Enrollment.status == DROPPED).label("dropped"),
    )


def _quiz_outcomes() -> tuple[ColumnElement[Any], ...]:
    """`attempts`, `average_percentage`, `passed`: the columns of a `QuizStats`."""
    return (
        func.count(QuizAttempt.id).label("attempts"),
        func.avg(QuizAttempt.percentage).label("average_percentage"),
        _count_if(QuizAttempt.is_passed.is_(True)).label("passed"),
    )


def bucket(db: Session, column: Any, granularity: Granularity) -> ColumnElement[str]:
    """The UTC day (or the Monday of the ISO week) of `column`, as 'YYYY-MM-DD'."""
    if db.get_bind().dialect.name == "postgresql":
        utc = func.timezone("UTC", column)
        return func.to_char(func.date_trunc(granularity, utc), "YYYY-MM-DD")
    if granularity == "day":
        return func.strftime("%Y-%m-%d", column)
    # SQLite: forward to Sunday (a Sunday stays), then back six days to that week's Monday.
    return func.date(column, "weekday 0", "-6 days")


# --- students ----------------------------------------------------------------------------


def student_enrollment_counts(db: Session, student_id: uuid.UUID) -> dict[str, Any]:
    row = db.execute(
        select(
            *_enrollment_status_counts(),
            func.avg(case((Enrollment.status != DROPPED, Enrollment.progress_percentage))).label(
                "average_progress"
            ),
            func.coalesce(func.sum(Enrollment.total_time_spent_seconds), 0).label("time_spent"),
            func.coalesce(func.sum(Enrollment.completed_lessons_count), 0).label(
                "lessons_completed"
            ),
        ).where(Enrollment.student_id == student_id)
    ).one()
    return dict(row._mapping)


def student_progress(
    db: Session, student_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of per-course progress rows, and how many there are in all."""
    total = db.scalar(select(func.count(Enrollment.id)).where(Enrollment.student_id == student_id))
    rows = db.execute(
        select(
            Enrollment.id.label("enrollment_id"),
            Enrollment.course_id,
            Course.title.label("course_title"),
            Enrollment.status,
            Enrollment.progress_percentage,
            Enrollment.completed_lessons_count.label("completed_lessons"),
            Enrollment.total_lessons_count.label("total_lessons"),
            Enrollment.total_time_spent_seconds.label("time_spent_seconds"),
            Enrollment.enrolled_at,
            Enrollment.last_accessed_at,
            Enrollment.completed_at,
        )
        .join(Course, Course.id == Enrollment.course_id)
        .where(Enrollment.student_id == student_id)
        .order_by(
            func.coalesce(Enrollment.last_accessed_at, Enrollment.enrolled_at).desc(),
            Enrollment.id,
        )
        .limit(limit)
        .offset(offset)
    ).all()
    return [dict(row._mapping) for row in rows], int(total or 0)


def student_quiz_stats(db: Session, student_id: uuid.UUID) -> dict[str, Any]:
    row = db.execute(
        select(
            func.count(distinct(QuizAttempt.quiz_id)).label("quizzes"),
            *_quiz_outcomes(),
        )
        .join(Enrollment, Enrollment.id == QuizAttempt.enrollment_id)
        .where(Enrollment.student_id == student_id, QuizAttempt.status == GRADED)
    ).one()
    return dict(row._mapping)


def student_recent_activity(db: Session, student_id: uuid.UUID, limit: int) -> list[dict[str, Any]]:
    rows = db.execute(
        select(
            LessonProgress.lesson_id,
            Lesson.title.label("lesson_title"),
            Enrollment.course_id,
            Course.title.label("course_title"),
            LessonProgress.status,
            LessonProgress.updated_at.label("at"),
        )
        .join(Enrollment, Enrollment.id == LessonProgress.enrollment_id)
        .join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .join(Course, Course.id == Enrollment.course_id)
        .where(Enrollment.student_id == student_id)
        .order_by(LessonProgress.updated_at.desc(), LessonProgress.id)
        .limit(limit)
    ).all()
    return [dict(row._mapping) for row in rows]


def student_certificates(
    db: Session, student_id: uuid.UUID, limit: int
) -> tuple[int, list[dict[str, Any]]]:
    total = db.scalar(
        select(func.count(Certificate.id)).where(
            Certificate.student_id == student_id, Certificate.is_revoked.is_(False)
        )
    )
    rows = db.execute(
        select(
            Certificate.id,
            Certificate.certificate_number,
            Certificate.course_id,
            Certificate.course_title,
            Certificate.issued_at,
        )
        .where(Certificate.student_id == student_id, Certificate.is_revoked.is_(False))
        .order_by(Certificate.issued_at.desc(), Certificate.id)
        .limit(limit)
    ).all()
    return int(total or 0), [dict(row._mapping) for row in rows]


# --- one course --------------------------------------------------------------------------


# `students` (a select of student ids, e.g. a cohort's members) narrows the course figures to
# those students; None counts every student of the course.
Students = Select[uuid.UUID] | None


def _of_students(column: Any, students: Students) -> list[ColumnElement[bool]]:
    return [] if students is None else [column.in_(students)]


def course_enrollment_summary(
    db: Session, course_id: uuid.UUID, students: Students = None
) -> dict[str, Any]:
    row = db.execute(
        select(
            *_enrollment_status_counts(),
            func.avg(Enrollment.progress_percentage).label("average_progress"),
            func.coalesce(func.sum(Enrollment.total_time_spent_seconds), 0).label("time_spent"),
            func.avg(Enrollment.total_time_spent_seconds).label("average_time_spent"),
            func.avg(Enrollment.rating).label("average_rating"),
            func.count(Enrollment.rating).label("ratings"),
        ).where(Enrollment.course_id == course_id, *_of_students(Enrollment.student_id, students))
    ).one()
    return dict(row._mapping)


def course_rating_distribution(
    db: Session, course_id: uuid.UUID, students: Students = None
) -> dict[int, int]:
    rows = db.execute(
        select(Enrollment.rating, func.count())
        .where(
            Enrollment.course_id == course_id,
            Enrollment.rating.is_not(None),
            *_of_students(Enrollment.student_id, students),
        )
        .group_by(Enrollment.rating)
    ).all()
    return {rating: int(count) for rating, count in rows if rating is not None}


def course_enrollment_trend(
    db: Session,
    course_id: uuid.UUID,
    *,
    since: datetime,
    granularity: Granularity,
    students: Students = None,
) -> dict[str, int]:
    period = bucket(db, Enrollment.enrolled_at, granularity).label("period")
    rows = db.execute(
        select(period, func.count())
        .where(
            Enrollment.course_id == course_id,
            Enrollment.enrolled_at >= since,
            *_of_students(Enrollment.student_id, students),
        )
        .group_by(period)
    ).all()
    return {str(key): int(count) for key, count in rows}


def course_lesson_funnel(
    db: Session, course_id: uuid.UUID, students: Students = None
) -> list[dict[str, Any]]:
    progress = LessonProgress.lesson_id == Lesson.id
    if students is not None:
        enrollments = select(Enrollment.id).where(
            Enrollment.course_id == course_id, Enrollment.student_id.in_(students)
        )
        progress = and_(progress, LessonProgress.enrollment_id.in_(enrollments))
    rows = db.execute(
        select(
            Lesson.id.label("lesson_id"),
            Lesson.title,
            Lesson.order_index,
            func.count(LessonProgress.id).label("started"),
            _count_if(LessonProgress.status == COMPLETED).label("completed"),
            func.coalesce(func.sum(LessonProgress.time_spent_seconds), 0).label("time_spent"),
        )
        .outerjoin(LessonProgress, progress)
        .where(Lesson.course_id == course_id, Lesson.is_published.is_(True))
        .group_by(Lesson.id, Lesson.title, Lesson.order_index)
        .order_by(Lesson.order_index, Lesson.id)
    ).all()
    return [dict(row._mapping) for row in rows]


def course_quiz_performance(
    db: Session, course_id: uuid.UUID, students: Students = None
) -> list[dict[str, Any]]:
    graded = and_(
        QuizAttempt.quiz_id == Quiz.id,
        QuizAttempt.status == GRADED,
        *_of_students(QuizAttempt.user_id, students),
    )
    rows = db.execute(
        select(
            Quiz.id.label("quiz_id"),
            Quiz.title,
            Quiz.quiz_type,
            func.count(distinct(QuizAttempt.user_id)).label("students"),
            *_quiz_outcomes(),
        )
        .outerjoin(QuizAttempt, graded)
        .where(Quiz.course_id == course_id)
        .group_by(Quiz.id, Quiz.title, Quiz.quiz_type, Quiz.created_at)
        .order_by(Quiz.created_at, Quiz.id)
    ).all()
    return [dict(row._mapping) for row in rows]


# --- an instructor -----------------------------------------------------------------------


def instructor_course_counts(db: Session, instructor_id: uuid.UUID) -> dict[str, Any]:
    row = db.execute(
        select(
            func.count(Course.id).label("total"),
            _count_if(Course.is_published.is_(True)).label("published"),
        ).where(Course.id.in_(managed_course_ids(instructor_id, Capability.ENROLLMENTS)))
    ).one()
    return dict(row._mapping)


def instructor_enrollment_summary(db: Session, instructor_id: uuid.UUID) -> dict[str, Any]:
    row = db.execute(
        select(
            func.count(Enrollment.id).label("enrollments"),
            func.count(distinct(Enrollment.student_id)).label("students"),
            _count_if(Enrollment.status == COMPLETED).label("completed"),
            func.avg(Enrollment.rating).label("average_rating"),
            func.count(Enrollment.rating).label("ratings"),
        )
        .join(Course, Course.id == Enrollment.course_id)
        .where(Course.id.in_(managed_course_ids(instructor_id, Capability.ENROLLMENTS)))
    ).one()
    return dict(row._mapping)


def instructor_quiz_average(db: Session, instructor_id: uuid.UUID) -> dict[str, Any]:
    row = db.execute(
        select(
            *_quiz_outcomes(),
        )
        .join(Quiz, Quiz.id == QuizAttempt.quiz_id)
        .join(Course, Course.id == Quiz.course_id)
        .where(
            Course.id.in_(managed_course_ids(instructor_id, Capability.ENROLLMENTS)),
            QuizAttempt.status == GRADED,
        )
    ).one()
    return dict(row._mapping)


def instructor_top_courses(
    db: Session, instructor_id: uuid.UUID, limit: int
) -> list[dict[str, Any]]:
    rows = db.execute(
        select(
            Course.id.label("course_id"),
            Course.title,
            Course.is_published,
            func.count(Enrollment.id).label("enrollments"),
            _count_if(Enrollment.status == COMPLETED).label("completed"),
            func.avg(Enrollment.rating).label("average_rating"),
        )
        .outerjoin(Enrollment, Enrollment.course_id == Course.id)
        .where(Course.id.in_(managed_course_ids(instructor_id, Capability.ENROLLMENTS)))
        .group_by(Course.id, Course.title, Course.is_published)
        .order_by(func.count(Enrollment.id).desc(), Course.title, Course.id)
        .limit(limit)
    ).all()
    return [dict(row._mapping) for row in rows]


# --- revenue (completed payments, one total per currency) -------------------------------


def revenue(
    db: Session,
    *,
    course_id: uuid.UUID | None = None,
    instructor_id: uuid.UUID | None = None,
) -> dict[str, Decimal]:
    from app.modules.payments.models import Payment

    statement = select(Payment.currency, func.sum(Payment.amount)).where(
        Payment.status == COMPLETED
    )
    if course_id is not None:
        statement = statement.where(Payment.course_id == course_id)
    if instructor_id is not None:
        statement = statement.join(Course, Course.id == Payment.course_id).where(
            Course.id.in_(managed_course_ids(instructor_id, Capability.ENROLLMENTS))
        )
    rows = db.execute(statement.group_by(Payment.currency).order_by(Payment.currency)).all()
    return {str(currency): Decimal(total) for currency, total in rows}


def revenue_with_recent(
    db: Session, *, since: datetime
) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """All-time and since-`since` revenue per currency, in one scan of `payments`."""
    from app.modules.payments.models import Payment

    recent = func.coalesce(
        func.sum(case((Payment.completed_at >= since, Payment.amount))), Decimal("0.00")
    )
    rows = db.execute(
        select(Payment.currency, func.sum(Payment.amount), recent)
        .where(Payment.status == COMPLETED)
        .group_by(Payment.currency)
        .order_by(Payment.currency)
    ).all()
    return (
        {str(currency): Decimal(total) for currency, total, _ in rows},
        {str(currency): Decimal(part) for currency, _, part in rows if part},
    )


# --- the whole system --------------------------------------------------------------------


def user_activity_by_role(
    db: Session, *, week_ago: datetime, month_ago: datetime
) -> list[dict[str, Any]]:
    """One row per role (one scan of `users`); the caller adds the roles up."""
    rows = db.execute(
        select(
            User.role,
            func.count(User.id).label("total"),
            _count_if(User.is_active.is_(True)).label("enabled"),
            _count_if(User.last_login_at >= week_ago).label("active_7_days"),
            _count_if(User.last_login_at >= month_ago).label("active_30_days"),
            _count_if(User.created_at >= month_ago).label("new_30_days"),
        ).group_by(User.role)
    ).all()
    return [dict(row._mapping) for row in rows]


def course_totals(db: Session) -> dict[str, Any]:
    row = db.execute(
        select(
            func.count(Course.id).label("total"),
            _count_if(Course.is_published.is_(True)).label("published"),
        )
    ).one()
    return dict(row._mapping)


def enrollment_totals(db: Session, *, month_ago: datetime) -> dict[str, Any]:
    row = db.execute(
        select(
            *_enrollment_status_counts(),
            _count_if(Enrollment.enrolled_at >= month_ago).label("new_30_days"),
            _count_if(Enrollment.completed_at >= month_ago).label("completed_30_days"),
        )
    ).one()
    return dict(row._mapping)


def certificate_totals(db: Session) -> dict[str, Any]:
    row = db.execute(
        select(
            func.count(Certificate.id).label("issued"),
            _count_if(Certificate.is_revoked.is_(True)).label("revoked"),
        )
    ).one()
    return dict(row._mapping)
