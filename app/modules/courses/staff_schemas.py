"""Request and response bodies for a course's staff and cohorts."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.schemas import PartialUpdate
from app.core.validation import RequestModel
from app.modules.courses.schemas import Title

# One request sets at most this many memberships (cohort members, enrollments).
MAX_BULK_ROWS = 1000


class AssignableRole(StrEnum):
    """The roles given through the staff routes; the owner is the course's creator."""

    INSTRUCTOR = "instructor"
    TEACHING_ASSISTANT = "teaching_assistant"


class StaffUpdate(RequestModel):
    role: AssignableRole
    cohort_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=200,
        description="Teaching assistants only: the cohorts they grade (empty: every student)",
    )


class StaffMember(BaseModel):
    user_id: uuid.UUID
    full_name: str
    email: str
    role: str
    cohort_ids: list[uuid.UUID]
    added_at: datetime


class _Dates(BaseModel):
    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        starts, ends = getattr(self, "starts_at", None), getattr(self, "ends_at", None)
        if starts is not None and ends is not None and ends < starts:
            raise ValueError("ends_at must not be before starts_at")
        return self


class CohortCreate(_Dates, RequestModel):
    name: Title
    starts_at: datetime | None = None
    ends_at: datetime | None = None


class CohortUpdate(_Dates, PartialUpdate):
    nullable = frozenset({"starts_at", "ends_at"})

    name: Title | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None


class CohortRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    course_id: uuid.UUID
    name: str
    starts_at: datetime | None
    ends_at: datetime | None
    member_count: int
    created_at: datetime
    updated_at: datetime


class CohortMembersSet(RequestModel):
    student_ids: list[uuid.UUID] = Field(
        max_length=MAX_BULK_ROWS,
        description=f"The cohort's members (at most {MAX_BULK_ROWS}); students of another "
        "cohort of the course move to this one",
    )


class CohortMemberRead(BaseModel):
    student_id: uuid.UUID
    full_name: str
    email: str
    added_at: datetime
