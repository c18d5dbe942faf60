"""Finishing a quiz attempt: grading it when it is submitted or when its time ran out, and
what a graded attempt sets off (the `quiz.attempt.graded` event, the student's notice and, for
a passed quiz lesson, the lesson's completion). The scoring of one answer is `grading.py`.

The grading UPDATE only matches an in-progress row, so exactly one request grades an attempt.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import utcnow
from app.core.events import emit
from app.core.latework import ON_TIME, apply_penalty, lateness
from app.modules.courses import service as courses_service
from app.modules.courses.models import LessonType
from app.modules.enrollments import progress as enrollments_progress
from app.modules.notifications.inbox import Message, notify
from app.modules.notifications.models import NotificationCategory
from app.modules.quizzes import repository
from app.modules.quizzes import service as quiz_service
from app.modules.quizzes.grading import answer_problem, quantize, question_problems, score_question
from app.modules.quizzes.models import AttemptStatus, Quiz, QuizAttempt, QuizQuestion, QuizType
from app.modules.users.models import User


def _deadline(attempt: QuizAttempt) -> datetime | None:
    if attempt.expires_at is None:
        return None
    return attempt.expires_at + timedelta(seconds=get_settings().QUIZ_SUBMIT_GRACE_SECONDS)


def is_expired(attempt: QuizAttempt, now: datetime) -> bool:
    deadline = _deadline(attempt)
    return deadline is not None and now > deadline


def attempt_questions(db: Session, attempt: QuizAttempt) -> dict[str, QuizQuestion]:
    return repository.questions_by_id(db, [uuid.UUID(qid) for qid in attempt.question_order])


def grade(
    db: Session,
    quiz: Quiz,
    attempt: QuizAttempt,
    answers: dict[str, Any],
    submitted_at: datetime,
    questions: dict[str, QuizQuestion] | None = None,
) -> bool:
    """Grade and close the attempt; False when another request closed it first. `questions`
    are the attempt's questions when the caller has already loaded them."""
    questions = questions if questions is not None else attempt_questions(db, attempt)
    score = max_score = Decimal("0")
    results: dict[str, Any] = {}
    for qid in attempt.question_order:
        question = questions.get(qid)
        if question is None:  # deleted since the attempt started: it no longer counts
            continue
        max_score += question.points
        answer = answers.get(qid)
        gradable = not question_problems(
            question.question_type, question.options, question.correct_answer
        ) and not answer_problem(question.question_type, question.options, answer)
        if gradable:
            outcome = score_question(
                question.question_type,
                question.correct_answer,
                question.points,
                answer,
                partial_credit=quiz.partial_credit,
            )
            points, correct = outcome.points, outcome.is_correct
        else:  # edited into a shape the saved answer no longer fits
            points, correct = Decimal("0.00"), False
        score += points
        results[qid] = {"points": str(points), "is_correct": correct}
    percentage = quantize(score * 100 / max_score) if max_score else Decimal("0.00")
    late = (
        ON_TIME
        if attempt.enrollment_id is None
        else lateness(
            quiz, quiz_service.student_deadlines_of(db, quiz, attempt.user_id), at=submitted_at
        )
    )
    final_percentage = apply_penalty(percentage, late.penalty_percent)
    now = utcnow()
    won = repository.finish_attempt(
        db,
        attempt.id,
        {
            "status": AttemptStatus.GRADED.value,
            "answers": answers,
            "results": results,
            "submitted_at": submitted_at,
            "graded_at": now,
            "updated_at": now,
            "score": quantize(score),
            "max_score": quantize(max_score),
            "percentage": percentage,
            "is_late": late.is_late,
            "late_penalty_percent": late.penalty_percent,
            "final_percentage": final_percentage,
            "is_passed": final_percentage >= quiz.passing_score,
            "time_taken_seconds": max(0, int((submitted_at - attempt.started_at).total_seconds())),
        },
    )
    if won:
        _after_graded(db, quiz, repository.reload_attempt(db, attempt.id))
    return won


def _after_graded(db: Session, quiz: Quiz, attempt: QuizAttempt) -> None:
    if attempt.enrollment_id is None:
        return
    emit(
        db,
        "quiz.attempt.graded",
        {
            "attempt_id": str(attempt.id),
            "quiz_id": str(quiz.id),
            "enrollment_id": str(attempt.enrollment_id),
            "student_id": str(attempt.user_id),
            "score": str(attempt.score),
            "percentage": str(attempt.percentage),
            "is_passed": attempt.is_passed,
        },
    )
    if quiz.quiz_type != QuizType.GRADED.value:
        return
    student = db.get(User, attempt.user_id)
    if student is not None:
        # A copy of what the student just saw on screen, so opting out is respected.
        notify(
            db,
            student,
            NotificationCategory.GRADES,
            Message(
                title=f"{quiz.title}: {attempt.percentage}%",
                body=f"Attempt {attempt.attempt_number} scored {attempt.score}"
                f" of {attempt.max_score}.",
                template="quiz_result",
                context={
                    "quiz_title": quiz.title,
                    "attempt_number": attempt.attempt_number,
                    "score": str(attempt.score),
                    "max_score": str(attempt.max_score),
                    "percentage": str(attempt.percentage),
                    "is_passed": bool(attempt.is_passed),
                },
            ),
        )
    if attempt.is_passed and quiz.lesson_id is not None:
        lesson = courses_service.get_lesson(db, lesson_id=quiz.lesson_id)
        if lesson.lesson_type == LessonType.QUIZ.value:
            enrollments_progress.complete_lesson(
                db, enrollment_id=attempt.enrollment_id, lesson_id=lesson.id, via_quiz=True
            )


def close_if_expired(db: Session, quiz: Quiz, attempt: QuizAttempt) -> QuizAttempt:
    """Grade an attempt whose time ran out on its saved answers."""
    if attempt.status != AttemptStatus.IN_PROGRESS.value or not is_expired(attempt, utcnow()):
        return attempt
    assert attempt.expires_at is not None
    grade(db, quiz, attempt, dict(attempt.answers or {}), attempt.expires_at)
    return repository.reload_attempt(db, attempt.id)


def close_expired_of_user(db: Session, quiz: Quiz, user: User) -> None:
    current = repository.in_progress_attempt(db, quiz.id, user.id)
    if current is not None:
        close_if_expired(db, quiz, current)
