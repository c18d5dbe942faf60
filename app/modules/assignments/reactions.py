"""The rules assignments hand to the modules they build on: a submission's grader may read
the private files attached to it; for the release rule an assignment is completed by a
submission (not one returned for rework), its score the final grade in percent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Numeric, case, cast, literal, null, select

from app.modules.assignments.models import Assignment, Submission, SubmissionStatus
from app.modules.assignments.service import grader_may_read_attachment
from app.modules.courses.models import ItemKind
from app.modules.courses.release import CompletionSelect, register_completion
from app.modules.files.service import allow_reading_attachments

allow_reading_attachments(
    lambda db, file_id, uploader_id, reader: grader_may_read_attachment(
        db, file_id=file_id, uploader_id=uploader_id, user=reader
    )
)


def _assignment_completions(student_id: ColumnElement[Any] | None) -> CompletionSelect:
    percent = case(
        (Submission.final_grade.is_(None), null()),
        else_=cast(Submission.final_grade * 100, Numeric(12, 4)) / Assignment.max_points,
    )
    statement = select(
        Submission.student_id.label("student_id"),
        Submission.assignment_id.label("target_id"),
        literal(True).label("started"),
        (Submission.status != SubmissionStatus.RETURNED.value).label("completed"),
        percent.label("percent"),
    ).join(Assignment, Assignment.id == Submission.assignment_id)
    if student_id is not None:
        statement = statement.where(Submission.student_id == student_id)
    return statement


register_completion(ItemKind.ASSIGNMENT, _assignment_completions)
