"""Analytics answers. Percentages are 0-100 with two decimals; money is Decimal per ISO 4217
currency (never summed across currencies); durations are seconds."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field


class EnrollmentCounts(BaseModel):
    total: int
    active: int
    completed: int
    dropped: int


class CourseProgress(BaseModel):
    enrollment_id: uuid.UUID
    course_id: uuid.UUID
    course_title: str
    status: str
    progress_percentage: float
    completed_lessons: int
    total_lessons: int
    time_spent_seconds: int
    enrolled_at: datetime
    last_accessed_at: datetime | None
    completed_at: datetime | None


class QuizStats(BaseModel):
    attempts: int
    passed: int
    average_percentage: float | None
    pass_rate: float | None = Field(
        description="Percent (0-100, two decimals) of the students who tried the quiz that "
        "passed it; null when nobody tried."
    )


class StudentQuizStats(QuizStats):
    quizzes: int


class ActivityItem(BaseModel):
    lesson_id: uuid.UUID
    lesson_title: str
    course_id: uuid.UUID
    course_title: str
    status: str
    at: datetime


class CertificateSummary(BaseModel):
    id: uuid.UUID
    certificate_number: str
    course_id: uuid.UUID
    course_title: str
    issued_at: datetime


class StudentDashboard(BaseModel):
    generated_at: datetime
    enrollments: EnrollmentCounts
    average_progress: float | None
    lessons_completed: int
    time_spent_seconds: int
    quizzes: StudentQuizStats
    certificates_count: int
    recent_certificates: list[CertificateSummary]
    recent_activity: list[ActivityItem]


class TrendPoint(BaseModel):
    period: str
    enrollments: int


class LessonFunnelStep(BaseModel):
    lesson_id: uuid.UUID
    title: str
    order_index: int
    started: int
    completed: int
    completion_rate: float | None = Field(
        description="Percent (0-100, two decimals) of all the course's enrollments that "
        "completed this lesson; null when the course has none."
    )
    # Enrollments lost since the previous lesson (the first lesson compares with all).
    drop_off: int
    time_spent_seconds: int


class QuizPerformance(BaseModel):
    quiz_id: uuid.UUID
    title: str
    quiz_type: str
    attempts: int
    students: int
    passed: int
    average_percentage: float | None
    pass_rate: float | None = Field(
        description="Percent (0-100, two decimals) of the students who tried the quiz that "
        "passed it; null when nobody tried."
    )


class RatingSummary(BaseModel):
    average: float | None
    count: int
    # "1".."5" -> number of ratings (every star present, zero included).
    distribution: dict[str, int]


class CourseAnalytics(BaseModel):
    generated_at: datetime
    course_id: uuid.UUID
    title: str
    enrollments: EnrollmentCounts
    completion_rate: float | None = Field(
        description="Percent (0-100, two decimals) of the course's enrollments, dropped ones "
        "included, that are completed; null when there are none."
    )
    average_progress: float | None
    granularity: Literal["day", "week"]
    enrollment_trend: list[TrendPoint]
    lesson_funnel: list[LessonFunnelStep]
    # The lesson after which most students stop (largest drop-off), if any.
    drop_off_lesson_id: uuid.UUID | None
    quizzes: list[QuizPerformance]
    rating: RatingSummary
    time_spent_seconds: int
    average_time_spent_seconds: float | None
    revenue: dict[str, Decimal]


class CourseOverview(BaseModel):
    course_id: uuid.UUID
    title: str
    is_published: bool
    enrollments: int
    completed: int
    average_rating: float | None


class InstructorOverview(BaseModel):
    generated_at: datetime
    instructor_id: uuid.UUID
    courses: int
    published_courses: int
    students: int
    enrollments: int
    completions: int
    completion_rate: float | None = Field(
        description="Percent (0-100, two decimals) of the enrollments in the instructor's "
        "courses that are completed; null when there are none."
    )
    quizzes: QuizStats
    average_rating: float | None
    ratings: int
    revenue: dict[str, Decimal]
    # The ten courses with the most enrollments.
    top_courses: list[CourseOverview]


class UserTotals(BaseModel):
    total: int
    enabled: int
    by_role: dict[str, int]
    active_7_days: int
    active_30_days: int
    new_30_days: int


class SystemEnrollmentTotals(EnrollmentCounts):
    new_30_days: int
    completed_30_days: int


class SystemOverview(BaseModel):
    generated_at: datetime
    users: UserTotals
    courses: int
    published_courses: int
    enrollments: SystemEnrollmentTotals
    completion_rate: float | None = Field(
        description="Percent (0-100, two decimals) of all enrollments that are completed; "
        "null when there are none."
    )
    certificates_issued: int
    certificates_revoked: int
    revenue: dict[str, Decimal]
    revenue_30_days: dict[str, Decimal]
