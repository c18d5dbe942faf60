"""Quiz schemas. Management schemas (owner/admin) carry correct answers and explanations;
the attempt schemas a student receives never do, except in a graded attempt's `result`
when the quiz shows correct answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from app.core.decimals import DecimalString, Percent, TwoPlaces
from app.core.latework import (
    NULLABLE_LATE_WORK_FIELDS,
    LateWorkFields,
    LateWorkRead,
    LateWorkUpdate,
)
from app.core.schemas import PartialUpdate
from app.core.validation import RequestModel
from app.modules.quizzes.models import QuestionType, QuizType

OptionId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w-]+$")]
# The JSON kinds a correct answer or an answer can take, checked per question type.
AnswerValue = str | bool | list[str] | None
# Scores and points are shown with two decimals whatever the backend returns.
QuestionPoints = Annotated[Decimal, DecimalString(whole_digits=3, inclusive=True, positive=True)]
Points = TwoPlaces


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- quizzes ----------------------------------------------------------------------------


class QuizSettings(LateWorkFields):
    description: str | None = Field(default=None, max_length=10_000)
    lesson_id: uuid.UUID | None = None
    quiz_type: QuizType = QuizType.PRACTICE
    passing_score: Percent = Decimal("70")
    time_limit_minutes: int | None = Field(default=None, ge=1, le=1440)
    max_attempts: int | None = Field(default=None, ge=1, le=100)
    shuffle_questions: bool = False
    shuffle_options: bool = False
    show_correct_answers: bool = True
    partial_credit: bool = False


class QuizCreate(QuizSettings):
    title: str = Field(min_length=1, max_length=200)
    section_id: uuid.UUID | None = Field(
        default=None,
        description="The section to append it to (default: the course's last section)",
    )


class QuizUpdate(LateWorkUpdate):
    """Every field optional; only the fields sent are changed."""

    # null clears these only.
    nullable = (
        frozenset({"lesson_id", "time_limit_minutes", "max_attempts", "description"})
        | NULLABLE_LATE_WORK_FIELDS
    )

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    lesson_id: uuid.UUID | None = None
    quiz_type: QuizType | None = None
    passing_score: Percent | None = None
    time_limit_minutes: int | None = Field(default=None, ge=1, le=1440)
    max_attempts: int | None = Field(default=None, ge=1, le=100)
    shuffle_questions: bool | None = None
    shuffle_options: bool | None = None
    show_correct_answers: bool | None = None
    partial_credit: bool | None = None


class QuizRead(LateWorkRead, Schema):
    id: uuid.UUID
    course_id: uuid.UUID
    lesson_id: uuid.UUID | None
    title: str
    description: str | None
    quiz_type: str
    passing_score: Points
    time_limit_minutes: int | None
    max_attempts: int | None
    shuffle_questions: bool
    shuffle_options: bool
    show_correct_answers: bool
    partial_credit: bool
    is_published: bool
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


# --- questions (management view) --------------------------------------------------------


class OptionIn(RequestModel):
    id: OptionId
    text: str = Field(min_length=1, max_length=1000)


class OptionRead(Schema):
    id: str
    text: str


def _unique_option_ids(options: list[OptionIn] | None) -> None:
    if options is not None:
        ids = [option.id for option in options]
        if len(set(ids)) != len(ids):
            raise ValueError("option ids must be unique")


CORRECT_ANSWER_DESCRIPTION = (
    "multiple_choice: the `id` of the right option (not its text or position); "
    "multiple_select: the list of the right options' ids; true_false: a boolean; "
    "short_answer: the accepted answers (a single string is accepted too). "
    "Null leaves the question a draft."
)


class QuestionCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "question_text": "Which value is robust to outliers?",
                    "question_type": "multiple_choice",
                    "options": [
                        {"id": "mean", "text": "The mean"},
                        {"id": "median", "text": "The median"},
                    ],
                    "correct_answer": "median",
                    "points": 2,
                }
            ]
        }
    )

    question_text: str = Field(min_length=1, max_length=5000)
    question_type: QuestionType
    options: list[OptionIn] | None = Field(default=None, max_length=20)
    correct_answer: AnswerValue = Field(
        default=None, description=CORRECT_ANSWER_DESCRIPTION, examples=["median"]
    )
    points: QuestionPoints = Decimal("1")
    explanation: str | None = Field(default=None, max_length=5000)

    @model_validator(mode="after")
    def _check_options(self) -> QuestionCreate:
        _unique_option_ids(self.options)
        return self


class QuestionUpdate(PartialUpdate):
    """Every field optional; the merged question is validated as a whole."""

    nullable = frozenset({"options", "correct_answer", "explanation"})

    question_text: str | None = Field(default=None, min_length=1, max_length=5000)
    question_type: QuestionType | None = None
    options: list[OptionIn] | None = Field(default=None, max_length=20)
    correct_answer: AnswerValue = Field(
        default=None, description=CORRECT_ANSWER_DESCRIPTION, examples=["median"]
    )
    points: QuestionPoints | None = None
    explanation: str | None = Field(default=None, max_length=5000)

    @model_validator(mode="after")
    def _check(self) -> QuestionUpdate:
        _unique_option_ids(self.options)
        return self


class QuestionRead(Schema):
    id: uuid.UUID
    quiz_id: uuid.UUID
    question_text: str
    question_type: str
    options: list[OptionRead] | None
    correct_answer: Any
    points: Points
    explanation: str | None
    order_index: int


class QuestionOrder(RequestModel):
    question_ids: list[uuid.UUID] = Field(min_length=1, max_length=500)


# --- attempts (student view) -------------------------------------------------------------


class AnswerIn(RequestModel):
    question_id: uuid.UUID
    # null clears a saved answer.
    answer: AnswerValue = None


class AnswersIn(RequestModel):
    answers: list[AnswerIn] = Field(default_factory=list, max_length=500)


class QuestionResult(BaseModel):
    """Only present on a graded attempt when the quiz shows correct answers (or to the
    course owner/admin)."""

    points_awarded: Points
    is_correct: bool
    correct_answer: Any
    explanation: str | None


class AttemptQuestion(BaseModel):
    id: uuid.UUID
    question_text: str
    question_type: str
    points: Points
    options: list[OptionRead] | None
    answer: Any = None
    result: QuestionResult | None = None


class AttemptSummary(Schema):
    id: uuid.UUID
    quiz_id: uuid.UUID
    enrollment_id: uuid.UUID | None
    user_id: uuid.UUID
    attempt_number: int
    status: str
    started_at: datetime
    expires_at: datetime | None
    submitted_at: datetime | None
    graded_at: datetime | None
    score: Points | None
    max_score: Points | None
    percentage: Points | None
    # Handed in after the student's due date: the penalty taken off the raw percentage,
    # and the percentage after it (what `is_passed` is decided on).
    is_late: bool
    late_penalty_percent: Points
    final_percentage: Points | None
    is_passed: bool | None
    time_taken_seconds: int | None


class AttemptRead(AttemptSummary):
    questions: list[AttemptQuestion]


class AttemptStartInfo(BaseModel):
    """What starting an attempt would do, without starting one."""

    quiz_id: uuid.UUID
    can_start: bool
    reason: str | None
    attempts_used: int
    max_attempts: int | None
    in_progress_attempt_id: uuid.UUID | None
    time_limit_minutes: int | None
