"""Dashboards for students, course owners, instructors and admins.

Access is checked before the cache is consulted, and every cache key names each input that
changes the answer (the subject's id, the window, the granularity). Answers are cached for
ANALYTICS_CACHE_TTL_SECONDS: dashboards tolerate a short delay, the database is spared the
aggregates on every refresh, and `generated_at` tells the reader how fresh they are.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.cache import cache_get, cache_key, cache_set
from app.core.config import get_settings
from app.core.database import utcnow
from app.core.errors import NotFound, PermissionDenied
from app.core.pagination import Page, PageParams
from app.core.permissions import Role
from app.modules.analytics import repository
from app.modules.analytics.repository import Granularity
from app.modules.analytics.schemas import (
    ActivityItem,
    CertificateSummary,
    CourseAnalytics,
    CourseOverview,
    CourseProgress,
    EnrollmentCounts,
    InstructorOverview,
    LessonFunnelStep,
    QuizPerformance,
    QuizStats,
    RatingSummary,
    StudentDashboard,
    StudentQuizStats,
    SystemEnrollmentTotals,
    SystemOverview,
    TrendPoint,
    UserTotals,
)
from app.modules.users.models import User

NAMESPACE = "analytics"
RECENT_ITEMS = 10
TOP_COURSES = 10

M = TypeVar("M", bound=BaseModel)


def _cached(model: type[M], key: str, build: Callable[[], M]) -> M:
    hit = cache_get(key)
    if hit is not None:
        return model.model_validate(hit)
    answer = build()
    cache_set(key, answer.model_dump(mode="json"), get_settings().ANALYTICS_CACHE_TTL_SECONDS)
    return answer


def _round(value: Any) -> float | None:
    if value is None:
        return None
    return float(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _rate(part: int, whole: int) -> float | None:
    return _round(Decimal(part) * 100 / Decimal(whole)) if whole else None


def _counts(row: dict[str, Any]) -> EnrollmentCounts:
    return EnrollmentCounts(
        total=int(row["total"]),
        active=int(row["active"]),
        completed=int(row["completed"]),
        dropped=int(row["dropped"]),
    )


# --- students ----------------------------------------------------------------------------


def student_progress(db: Session, *, user: User, params: PageParams) -> Page[CourseProgress]:
    rows, total = repository.student_progress(
        db, user.id, limit=params.page_size, offset=params.offset
    )
    return Page.build([CourseProgress.model_validate(row) for row in rows], total, params)


def student_dashboard(db: Session, *, user: User) -> StudentDashboard:
    def build() -> StudentDashboard:
        summary = repository.student_enrollment_counts(db, user.id)
        quiz = repository.student_quiz_stats(db, user.id)
        certificates, recent = repository.student_certificates(db, user.id, RECENT_ITEMS)
        return StudentDashboard(
            generated_at=utcnow(),
            enrollments=_counts(summary),
            average_progress=_round(summary["average_progress"]),
            lessons_completed=int(summary["lessons_completed"]),
            time_spent_seconds=int(summary["time_spent"]),
            quizzes=StudentQuizStats(
                attempts=int(quiz["attempts"]),
                quizzes=int(quiz["quizzes"]),
                passed=int(quiz["passed"]),
                average_percentage=_round(quiz["average_percentage"]),
                pass_rate=_rate(int(quiz["passed"]), int(quiz["attempts"])),
            ),
            certificates_count=certificates,
            recent_certificates=[CertificateSummary.model_validate(row) for row in recent],
            recent_activity=[
                ActivityItem.model_validate(row)
                for row in repository.student_recent_activity(db, user.id, RECENT_ITEMS)
            ],
        )

    return _cached(StudentDashboard, cache_key(f"{NAMESPACE}:student", user=user.id), build)


# --- one course --------------------------------------------------------------------------


def _periods(start: date, end: date, granularity: Granularity) -> list[str]:
    """Every bucket label from `start` to `end`, so empty days/weeks show as zero."""
    step = timedelta(days=1 if granularity == "day" else 7)
    if granularity == "week":
        start -= timedelta(days=start.weekday())
    labels = []
    current = start
    while current <= end:
        labels.append(current.isoformat())
        current += step
    return labels


def _funnel(
    rows: list[dict[str, Any]], enrollments: int
) -> tuple[list[LessonFunnelStep], uuid.UUID | None]:
    steps: list[LessonFunnelStep] = []
    previous = enrollments
    worst: tuple[int, uuid.UUID] | None = None
    for row in rows:
        completed = int(row["completed"])
        drop = max(previous - completed, 0)
        if drop > 0 and (worst is None or drop > worst[0]):
            worst = (drop, row["lesson_id"])
        steps.append(
            LessonFunnelStep(
                lesson_id=row["lesson_id"],
                title=row["title"],
                order_index=int(row["order_index"]),
                started=int(row["started"]),
                completed=completed,
                completion_rate=_rate(completed, enrollments),
                drop_off=drop,
                time_spent_seconds=int(row["time_spent"]),
            )
        )
        previous = completed
    return steps, worst[1] if worst else None


def course_analytics(
    db: Session,
    *,
    course_id: uuid.UUID,
    user: User,
    granularity: Granularity,
    days: int,
    cohort_id: uuid.UUID | None = None,
) -> CourseAnalytics:
    """The course's figures, of one cohort's students with `cohort_id` (revenue stays the
    course's: payments are not made per cohort)."""
    from app.modules.courses.access import Capability, get_owned_course
    from app.modules.courses.models import CohortMember
    from app.modules.courses.staff import get_course_cohort

    course = get_owned_course(db, course_id=course_id, user=user, capability=Capability.ENROLLMENTS)
    students = None
    if cohort_id is not None:
        get_course_cohort(db, course_id=course.id, cohort_id=cohort_id)
        students = select(CohortMember.student_id).where(CohortMember.cohort_id == cohort_id)

    def build() -> CourseAnalytics:
        now = utcnow()
        first_day = (now - timedelta(days=days - 1)).date()
        since = datetime.combine(
            first_day - timedelta(days=first_day.weekday() if granularity == "week" else 0),
            datetime.min.time(),
            tzinfo=now.tzinfo,
        )
        summary = repository.course_enrollment_summary(db, course.id, students)
        counts = _counts(summary)
        trend = repository.course_enrollment_trend(
            db, course.id, since=since, granularity=granularity, students=students
        )
        funnel, drop_off_lesson = _funnel(
            repository.course_lesson_funnel(db, course.id, students), counts.total
        )
        distribution = repository.course_rating_distribution(db, course.id, students)
        return CourseAnalytics(
            generated_at=now,
            course_id=course.id,
            title=course.title,
            enrollments=counts,
            completion_rate=_rate(counts.completed, counts.total),
            average_progress=_round(summary["average_progress"]),
            granularity=granularity,
            enrollment_trend=[
                TrendPoint(period=label, enrollments=trend.get(label, 0))
                for label in _periods(since.date(), now.date(), granularity)
            ],
            lesson_funnel=funnel,
            drop_off_lesson_id=drop_off_lesson,
            quizzes=[
                QuizPerformance(
                    quiz_id=row["quiz_id"],
                    title=row["title"],
                    quiz_type=row["quiz_type"],
                    attempts=int(row["attempts"]),
                    students=int(row["students"]),
                    passed=int(row["passed"]),
                    average_percentage=_round(row["average_percentage"]),
                    pass_rate=_rate(int(row["passed"]), int(row["attempts"])),
                )
                for row in repository.course_quiz_performance(db, course.id, students)
            ],
            rating=RatingSummary(
                average=_round(summary["average_rating"]),
                count=int(summary["ratings"]),
                distribution={str(star): distribution.get(star, 0) for star in range(1, 6)},
            ),
            time_spent_seconds=int(summary["time_spent"]),
            average_time_spent_seconds=_round(summary["average_time_spent"]),
            revenue=repository.revenue(db, course_id=course.id),
        )

    key = cache_key(
        f"{NAMESPACE}:course",
        course=course.id,
        cohort=cohort_id,
        granularity=granularity,
        days=days,
    )
    return _cached(CourseAnalytics, key, build)


# --- an instructor -----------------------------------------------------------------------


def instructor_overview(db: Session, *, instructor_id: uuid.UUID, user: User) -> InstructorOverview:
    if user.role != Role.ADMIN.value and user.id != instructor_id:
        raise PermissionDenied("Only the instructor themself or an admin can see this")
    instructor = db.get(User, instructor_id)
    if instructor is None or instructor.role not in (Role.INSTRUCTOR.value, Role.ADMIN.value):
        raise NotFound("Instructor not found", code="instructor_not_found")

    def build() -> InstructorOverview:
        courses = repository.instructor_course_counts(db, instructor_id)
        summary = repository.instructor_enrollment_summary(db, instructor_id)
        quiz = repository.instructor_quiz_average(db, instructor_id)
        enrollments = int(summary["enrollments"])
        completions = int(summary["completed"])
        return InstructorOverview(
            generated_at=utcnow(),
            instructor_id=instructor_id,
            courses=int(courses["total"]),
            published_courses=int(courses["published"]),
            students=int(summary["students"]),
            enrollments=enrollments,
            completions=completions,
            completion_rate=_rate(completions, enrollments),
            quizzes=QuizStats(
                attempts=int(quiz["attempts"]),
                passed=int(quiz["passed"]),
                average_percentage=_round(quiz["average_percentage"]),
                pass_rate=_rate(int(quiz["passed"]), int(quiz["attempts"])),
            ),
            average_rating=_round(summary["average_rating"]),
            ratings=int(summary["ratings"]),
            revenue=repository.revenue(db, instructor_id=instructor_id),
            top_courses=[
                CourseOverview(
                    course_id=row["course_id"],
                    title=row["title"],
                    is_published=bool(row["is_published"]),
                    enrollments=int(row["enrollments"]),
                    completed=int(row["completed"]),
                    average_rating=_round(row["average_rating"]),
                )
                for row in repository.instructor_top_courses(db, instructor_id, TOP_COURSES)
            ],
        )

    return _cached(
        InstructorOverview, cache_key(f"{NAMESPACE}:instructor", instructor=instructor_id), build
    )


# --- the whole system --------------------------------------------------------------------


def system_overview(db: Session) -> SystemOverview:
    def build() -> SystemOverview:
        now = utcnow()
        week_ago, month_ago = now - timedelta(days=7), now - timedelta(days=30)
        roles = repository.user_activity_by_role(db, week_ago=week_ago, month_ago=month_ago)
        users = {
            field: sum(int(row[field]) for row in roles)
            for field in ("total", "enabled", "active_7_days", "active_30_days", "new_30_days")
        }
        courses = repository.course_totals(db)
        enrollments = repository.enrollment_totals(db, month_ago=month_ago)
        certificates = repository.certificate_totals(db)
        revenue, revenue_30_days = repository.revenue_with_recent(db, since=month_ago)
        return SystemOverview(
            generated_at=now,
            users=UserTotals(
                total=users["total"],
                enabled=users["enabled"],
                by_role={role.value: 0 for role in Role}
                | {str(row["role"]): int(row["total"]) for row in roles},
                active_7_days=users["active_7_days"],
                active_30_days=users["active_30_days"],
                new_30_days=users["new_30_days"],
            ),
            courses=int(courses["total"]),
            published_courses=int(courses["published"]),
            enrollments=SystemEnrollmentTotals(
                **_counts(enrollments).model_dump(),
                new_30_days=int(enrollments["new_30_days"]),
                completed_30_days=int(enrollments["completed_30_days"]),
            ),
            completion_rate=_rate(int(enrollments["completed"]), int(enrollments["total"])),
            certificates_issued=int(certificates["issued"]),
            certificates_revoked=int(certificates["revoked"]),
            revenue=revenue,
            revenue_30_days=revenue_30_days,
        )

    return _cached(SystemOverview, cache_key(f"{NAMESPACE}:system"), build)
