"""The rules quizzes hand to the modules they build on: for the release rule a quiz is started
by an attempt and completed by a passed one, its score the attempt's final percentage."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, literal, select

from app.modules.courses.models import ItemKind
from app.modules.courses.release import CompletionSelect, register_completion
from app.modules.quizzes.models import QuizAttempt


def _quiz_completions(student_id: ColumnElement[Any] | None) -> CompletionSelect:
    statement = select(
        QuizAttempt.user_id.label("student_id"),
        QuizAttempt.quiz_id.label("target_id"),
        literal(True).label("started"),
        QuizAttempt.is_passed.is_(True).label("completed"),
        QuizAttempt.final_percentage.label("percent"),
        # A manager's preview attempt has no enrollment and counts for no one.
    ).where(QuizAttempt.enrollment_id.is_not(None))
    if student_id is not None:
        statement = statement.where(QuizAttempt.user_id == student_id)
    return statement


register_completion(ItemKind.QUIZ, _quiz_completions)
