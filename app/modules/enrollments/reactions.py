"""The rules enrollments hand to the modules they build on: when a course's published lessons
change, every enrollment's totals are refreshed in the same transaction; signing up with a
course invitation's token enrolls the new student in the sign-up's transaction; a lesson
counts as completed for the release rule when its progress is completed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Numeric, cast, literal, null, select

from app.modules.auth.service import accept_invitations_with
from app.modules.courses.changes import on_published_lessons_changed
from app.modules.courses.models import ItemKind
from app.modules.courses.release import CompletionSelect, register_completion
from app.modules.enrollments.managed import accept_invitation
from app.modules.enrollments.models import Enrollment, LessonProgress, ProgressStatus
from app.modules.enrollments.progress import recalculate_course_progress

on_published_lessons_changed(
    lambda db, course_id: recalculate_course_progress(db, course_id=course_id)
)
accept_invitations_with(accept_invitation)


def _lesson_completions(student_id: ColumnElement[Any] | None) -> CompletionSelect:
    """A lesson is started with a progress row and completed when that row says so."""
    statement = select(
        Enrollment.student_id.label("student_id"),
        LessonProgress.lesson_id.label("target_id"),
        literal(True).label("started"),
        (LessonProgress.status == ProgressStatus.COMPLETED.value).label("completed"),
        cast(null(), Numeric(5, 2)).label("percent"),
    ).join(Enrollment, Enrollment.id == LessonProgress.enrollment_id)
    if student_id is not None:
        statement = statement.where(Enrollment.student_id == student_id)
    return statement


register_completion(ItemKind.LESSON, _lesson_completions)
