"""Assignment, submission, attempt and file rows inserted with the ORM."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.core.database import session_scope, utcnow
from app.modules.assignments.models import Assignment, Submission
from app.modules.files.models import UploadedFile
from app.modules.quizzes.models import QuizAttempt
from app.modules.users.models import User
from tests.modules.quizzes.factories import CourseData


def make_assignment(course: CourseData, *, published: bool = True, **fields: Any) -> uuid.UUID:
    with session_scope() as session:
        assignment = Assignment(
            course_id=course.id,
            title=fields.pop("title", "Essay"),
            is_published=published,
            **fields,
        )
        session.add(assignment)
        session.flush()
        return assignment.id


def make_submission(
    assignment_id: uuid.UUID, enrollment_id: uuid.UUID, student: User, **fields: Any
) -> uuid.UUID:
    with session_scope() as session:
        submission = Submission(
            assignment_id=assignment_id,
            enrollment_id=enrollment_id,
            student_id=student.id,
            content=fields.pop("content", "My work"),
            **fields,
        )
        session.add(submission)
        session.flush()
        return submission.id


def make_graded_attempt(
    quiz_id: uuid.UUID,
    enrollment_id: uuid.UUID,
    student: User,
    *,
    number: int,
    score: str,
    max_score: str,
    passing: str = "70",
    submitted_at: datetime | None = None,
    late_penalty_percent: str = "0",
) -> uuid.UUID:
    percentage = (Decimal(score) * 100 / Decimal(max_score)).quantize(Decimal("0.01"))
    penalty = Decimal(late_penalty_percent)
    final_percentage = (percentage * (100 - penalty) / 100).quantize(Decimal("0.01"))
    with session_scope() as session:
        attempt = QuizAttempt(
            quiz_id=quiz_id,
            enrollment_id=enrollment_id,
            user_id=student.id,
            attempt_number=number,
            status="graded",
            submitted_at=submitted_at or utcnow(),
            graded_at=submitted_at or utcnow(),
            score=Decimal(score),
            max_score=Decimal(max_score),
            percentage=percentage,
            is_late=penalty > 0,
            late_penalty_percent=penalty,
            final_percentage=final_percentage,
            is_passed=final_percentage >= Decimal(passing),
        )
        session.add(attempt)
        session.flush()
        return attempt.id


def make_file(owner: User, *, extension: str = "pdf", name: str | None = None) -> uuid.UUID:
    stored = f"{uuid.uuid4().hex}.{extension}"
    with session_scope() as session:
        record = UploadedFile(
            original_filename=name or f"work.{extension}",
            stored_filename=stored,
            storage_provider="local",
            storage_path=f"submissions/{stored}",
            extension=extension,
            size_bytes=10,
            mime_type="application/octet-stream",
            checksum_sha256="0" * 64,
            uploader_id=owner.id,
        )
        session.add(record)
        session.flush()
        return record.id
