"""Request and response bodies for enrollments, progress and reviews."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.validation import Email, RequestModel
from app.modules.courses.schemas import CourseSummary
from app.modules.courses.sections_schemas import OutlineNext

# A heartbeat reports at most this much watching time; larger deltas are refused rather than
# trusted, so a client cannot inflate time spent with one request.
MAX_HEARTBEAT_DELTA_SECONDS = 600
# Staff enroll at most this many students per request (one transaction).
MAX_MANAGED_ROWS = 1000


class ORMModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class EnrollmentCreate(RequestModel):
    course_id: uuid.UUID


class EnrollmentRead(ORMModel):
    id: uuid.UUID
    student_id: uuid.UUID
    course_id: uuid.UUID
    status: str
    enrolled_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    dropped_at: datetime | None
    last_accessed_at: datetime | None
    certificate_issued_at: datetime | None
    progress_percentage: float
    completed_lessons_count: int
    total_lessons_count: int
    total_time_spent_seconds: int
    rating: int | None
    review: str | None
    reviewed_at: datetime | None


class LessonProgressRead(ORMModel):
    lesson_id: uuid.UUID
    status: str
    started_at: datetime | None
    completed_at: datetime | None
    time_spent_seconds: int
    last_position_seconds: int
    completion_percentage: float
    attempts_count: int
    updated_at: datetime


class EnrollmentDetail(EnrollmentRead):
    course: CourseSummary
    lessons: list[LessonProgressRead]


class MyCourse(EnrollmentRead):
    course: CourseSummary
    next_item: OutlineNext | None = Field(
        default=None,
        description="The first required item of the course that is open for the learner and "
        "not completed (null when none is left or all are locked).",
    )


class StudentSummary(ORMModel):
    id: uuid.UUID
    full_name: str
    email: str


class RosterEntry(EnrollmentRead):
    student: StudentSummary


class CourseEnrollmentStats(BaseModel):
    course_id: uuid.UUID
    total_enrollments: int
    active: int
    completed: int
    dropped: int
    # Mean progress of active and completed enrollments (dropped ones are history).
    average_progress: float
    completion_rate: float = Field(
        description="Percent (0-100, two decimals) of all enrollments ever made, dropped ones "
        "included, that are completed; 0 when there are none (the unit of the analytics "
        "endpoints' completion_rate)."
    )
    average_rating: float | None
    rating_count: int


class ProgressHeartbeat(RequestModel):
    position_seconds: int = Field(default=0, ge=0, le=7 * 24 * 3600)
    time_spent_delta_seconds: int = Field(default=0, ge=0, le=MAX_HEARTBEAT_DELTA_SECONDS)
    completion_percentage: float = Field(default=0, ge=0, le=100)


class ReviewCreate(RequestModel):
    rating: int = Field(ge=1, le=5)
    review: str | None = Field(default=None, max_length=5000)


class EnrollmentOutcome(StrEnum):
    ENROLLED = "enrolled"
    ALREADY_ENROLLED = "already_enrolled"
    UNKNOWN_EMAIL = "unknown_email"
    UNKNOWN_USER = "unknown_user"
    NOT_A_STUDENT = "not_a_student"
    INVITED = "invited"


class ManagedEnrollmentRow(RequestModel):
    """One student, by account id or by email address (exactly one of the two)."""

    student_id: uuid.UUID | None = None
    email: Email | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.student_id is None) == (self.email is None):
            raise ValueError("give exactly one of student_id and email")
        return self


class ManagedEnrollmentCreate(RequestModel):
    students: list[ManagedEnrollmentRow] = Field(
        min_length=1,
        max_length=MAX_MANAGED_ROWS,
        description=f"At most {MAX_MANAGED_ROWS} students, enrolled in one transaction",
    )
    cohort_id: uuid.UUID | None = Field(
        default=None, description="Also place every enrolled student in this cohort"
    )
    invite_unknown: bool = Field(
        default=False,
        description="Mail an invitation to each email without an account; signing up with "
        "its token enrolls the new student",
    )


class ManagedEnrollmentResult(BaseModel):
    index: int
    student_id: uuid.UUID | None
    email: str | None
    status: EnrollmentOutcome
    enrollment_id: uuid.UUID | None = None
    invitation_expires_at: datetime | None = None


class ManagedEnrollmentReport(BaseModel):
    course_id: uuid.UUID
    cohort_id: uuid.UUID | None
    counts: dict[str, int]
    results: list[ManagedEnrollmentResult]
