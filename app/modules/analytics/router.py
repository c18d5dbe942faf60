"""`/analytics`: dashboards for students, course owners, instructors and admins."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query

from app.core.dependencies import DbSession
from app.core.pagination import Page, Pagination
from app.core.routing import APIRouter
from app.modules.analytics import service
from app.modules.analytics.repository import Granularity
from app.modules.analytics.schemas import (
    CourseAnalytics,
    CourseProgress,
    InstructorOverview,
    StudentDashboard,
    SystemOverview,
)
from app.modules.users.dependencies import AdminUser, CurrentUser, InstructorUser

router = APIRouter(prefix="/analytics", tags=["analytics"])


@router.get("/my-progress", response_model=Page[CourseProgress])
def my_progress(db: DbSession, user: CurrentUser, params: Pagination) -> Page[CourseProgress]:
    """My progress in each course I enrolled in, most recently active first."""
    return service.student_progress(db, user=user, params=params)


@router.get("/my-dashboard", response_model=StudentDashboard)
def my_dashboard(db: DbSession, user: CurrentUser) -> StudentDashboard:
    """My learning summary: enrollments, progress, quizzes, time, activity, certificates."""
    return service.student_dashboard(db, user=user)


@router.get("/courses/{course_id}", response_model=CourseAnalytics)
def course_analytics(
    course_id: uuid.UUID,
    db: DbSession,
    user: InstructorUser,
    granularity: Granularity = "day",
    days: Annotated[int, Query(ge=1, le=366, description="Trend window in days")] = 30,
    cohort_id: Annotated[
        uuid.UUID | None, Query(description="Only the students of this cohort")
    ] = None,
) -> CourseAnalytics:
    """A course's analytics (its owner, instructors or an admin), optionally of one cohort."""
    return service.course_analytics(
        db, course_id=course_id, user=user, granularity=granularity, days=days, cohort_id=cohort_id
    )


@router.get("/instructors/{instructor_id}/overview", response_model=InstructorOverview)
def instructor_overview(
    instructor_id: uuid.UUID, db: DbSession, user: InstructorUser
) -> InstructorOverview:
    """An instructor's overview across their courses (that instructor or an admin)."""
    return service.instructor_overview(db, instructor_id=instructor_id, user=user)


@router.get("/system/overview", response_model=SystemOverview)
def system_overview(db: DbSession, _admin: AdminUser) -> SystemOverview:
    """System-wide totals (admins)."""
    return service.system_overview(db)
