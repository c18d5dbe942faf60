"""Assignment, submission and gradebook schemas."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    computed_field,
    model_validator,
)

from app.core.decimals import DecimalString, TwoPlaces
from app.core.latework import (
    NULLABLE_LATE_WORK_FIELDS,
    LateWorkFields,
    LateWorkRead,
    LateWorkUpdate,
)
from app.core.validation import RequestModel

Points = TwoPlaces
MaxPoints = Annotated[Decimal, DecimalString(whole_digits=4, inclusive=True, positive=True)]
FileType = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[A-Za-z0-9]{1,10}$")
]


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AssignmentFields(LateWorkFields):
    lesson_id: uuid.UUID | None = None
    instructions: str | None = Field(default=None, max_length=50_000)
    max_points: MaxPoints = Decimal("100")
    # Extensions without the dot, e.g. ["pdf", "docx"]; empty means text only.
    allowed_file_types: list[FileType] = Field(default_factory=list, max_length=20)
    is_published: bool = False


class AssignmentCreate(AssignmentFields):
    course_id: uuid.UUID
    title: str = Field(min_length=1, max_length=200)
    section_id: uuid.UUID | None = Field(
        default=None,
        description="The section to append it to (default: the course's last section)",
    )


class AssignmentUpdate(LateWorkUpdate):
    """Every field optional; only the fields sent are changed."""

    nullable = frozenset({"lesson_id", "instructions"}) | NULLABLE_LATE_WORK_FIELDS

    title: str | None = Field(default=None, min_length=1, max_length=200)
    lesson_id: uuid.UUID | None = None
    instructions: str | None = Field(default=None, max_length=50_000)
    max_points: MaxPoints | None = None
    allowed_file_types: list[FileType] | None = Field(default=None, max_length=20)
    is_published: bool | None = None


class AssignmentRead(LateWorkRead, Schema):
    id: uuid.UUID
    course_id: uuid.UUID
    lesson_id: uuid.UUID | None
    title: str
    instructions: str | None
    max_points: Points
    allowed_file_types: list[str]
    is_published: bool
    created_at: datetime
    updated_at: datetime


class SubmissionCreate(RequestModel):
    content: str | None = Field(default=None, max_length=100_000)
    file_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _not_empty(self) -> SubmissionCreate:
        if not (self.content and self.content.strip()) and not self.file_ids:
            raise ValueError("a submission needs text content or at least one file")
        if len(set(self.file_ids)) != len(self.file_ids):
            raise ValueError("file_ids must be unique")
        return self


class SubmissionRead(Schema):
    id: uuid.UUID
    assignment_id: uuid.UUID
    enrollment_id: uuid.UUID
    student_id: uuid.UUID
    content: str | None
    file_ids: list[uuid.UUID]
    status: str
    submitted_at: datetime
    submission_count: int
    is_late: bool
    # The penalty applied to this submission's grade (0 unless it was late).
    late_penalty_percent: Points
    # Points given by the grader (the raw score), the points the late penalty took off, and
    # the grade after it (what counts).
    grade: Points | None
    final_grade: Points | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def late_penalty_points(self) -> Decimal | None:
        if self.grade is None or self.final_grade is None:
            return None
        return self.grade - self.final_grade

    feedback: str | None
    graded_at: datetime | None
    graded_by_id: uuid.UUID | None


class GradeIn(RequestModel):
    grade: Annotated[Decimal, DecimalString(whole_digits=4, inclusive=True)]
    feedback: str | None = Field(default=None, max_length=20_000)


class ReturnIn(RequestModel):
    feedback: str | None = Field(default=None, max_length=20_000)


# --- gradebook ---------------------------------------------------------------------------


class GradebookColumn(BaseModel):
    id: uuid.UUID
    kind: str  # "quiz", "assignment" or "lti"
    title: str
    due_at: datetime | None = None
    max_points: Points | None = None


class GradeCell(BaseModel):
    """Best graded attempt of a quiz, or the graded submission of an assignment."""

    score: Points
    max_score: Points
    percentage: Points


class GradebookRow(BaseModel):
    enrollment_id: uuid.UUID
    student_id: uuid.UUID
    student_name: str
    student_email: str
    enrollment_status: str
    # Aligned with `columns`; null where nothing is graded yet.
    grades: list[GradeCell | None]
    # Points earned over points possible across graded items, as a percentage.
    course_grade: Points | None


class Gradebook(BaseModel):
    course_id: uuid.UUID
    columns: list[GradebookColumn]
    items: list[GradebookRow]
    total: int
    page: int
    page_size: int
    pages: int


class EnrollmentGradeItem(GradebookColumn):
    grade: GradeCell | None


class EnrollmentGrades(BaseModel):
    enrollment_id: uuid.UUID
    course_id: uuid.UUID
    items: list[EnrollmentGradeItem]
    course_grade: Points | None
