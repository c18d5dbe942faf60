"""Quiz attempts: start or resume, save answers, submit and grade, results.

Policies:
- Who: a student enrolled in the course (active or completed enrollment) takes a published
  quiz. The course's instructor and admins may take any of its quizzes, published or not, as
  a preview: preview attempts have no enrollment, ignore `max_attempts` and never count
  toward grades, events or completion.
- One in-progress attempt per user and quiz: starting while one is open resumes it. A unique
  (quiz, user, attempt_number) constraint and a partial unique index on in-progress attempts
  make concurrent starts safe without locks: the loser of a race resumes the winner's attempt.
- Answers are saved with `PUT .../answers` (merged into what was saved) and/or sent with the
  submit; the submit's answers win over saved ones.
- Due dates (`app.core.latework`, the student's extension applied): starting is refused
  from `lock_at` on, and after `due_at` under the `refuse` policy; an attempt's
  `expires_at` never passes that moment. An attempt submitted after `due_at` is late: its
  penalty is frozen on it and `final_percentage` (what `is_passed` uses) shows it applied.
- Time limit: `expires_at = started_at + time_limit_minutes` (or the closing time above).
  Saves and submits are accepted until `expires_at + QUIZ_SUBMIT_GRACE_SECONDS`. After that
  a save is refused (409 `attempt_expired`) and a submit is graded on the answers saved
  before the deadline (the answers it carries are ignored) with `submitted_at = expires_at`.
  An expired attempt nobody submitted is closed the same way the next time it is read,
  listed or a new one is started.
- Double submit: the grading UPDATE only matches an in-progress row, so exactly one request
  grades; the other receives the already graded attempt (200, idempotent).
- Order: question and option order are drawn once at start and stored on the attempt, so a
  reload shows the same order.
- Results: a graded attempt shows per-question correctness, correct answers and explanations
  only when the quiz's `show_correct_answers` is on (the course's instructor and admins always
  see them). Before grading nobody's attempt view carries them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import utcnow
from app.core.errors import BusinessRuleViolation, Conflict, NotFound, PermissionDenied
from app.core.events import emit
from app.core.latework import ON_TIME, apply_penalty, assess, closes_at, lateness
from app.core.pagination import Page, PageParams, paginate
from app.modules.courses import access as courses_access
from app.modules.courses import release
from app.modules.courses import service as courses_service
from app.modules.courses.models import ItemKind, LessonType
from app.modules.enrollments import progress as enrollments_progress
from app.modules.enrollments import service as enrollments_service
from app.modules.notifications.inbox import Message, notify
from app.modules.notifications.models import NotificationCategory
from app.modules.quizzes import repository
from app.modules.quizzes import service as quiz_service
from app.modules.quizzes.grading import (
    answer_problem,
    attempt_order,
    option_ids,
    quantize,
    question_problems,
    score_question,
)
from app.modules.quizzes.models import AttemptStatus, Quiz, QuizAttempt, QuizQuestion, QuizType
from app.modules.quizzes.schemas import (
    AnswerIn,
    AttemptQuestion,
    AttemptRead,
    AttemptStartInfo,
    AttemptSummary,
    OptionRead,
    QuestionResult,
)
from app.modules.quizzes.service import QuizNotFound
from app.modules.users.models import User


class AttemptNotFound(NotFound):
    code = "attempt_not_found"


@dataclass(frozen=True)
class Taker:
    """Who is taking a quiz: an enrolled student, or a manager previewing it."""

    enrollment_id: uuid.UUID | None

    @property
    def is_preview(self) -> bool:
        return self.enrollment_id is None


def _load_quiz(db: Session, quiz_id: uuid.UUID) -> Quiz:
    quiz = repository.get_quiz(db, quiz_id)
    if quiz is None:
        raise QuizNotFound("Quiz not found")
    return quiz


def _taker(db: Session, quiz: Quiz, user: User) -> Taker:
    enrollment = enrollments_service.get_student_enrollment(
        db, student_id=user.id, course_id=quiz.course_id
    )
    if enrollment is not None:
        if not quiz.is_published:
            raise QuizNotFound("Quiz not found")
        return Taker(enrollment_id=enrollment.id)
    if courses_access.manages_course(
        db, course_id=quiz.course_id, user=user, capability=courses_access.Capability.READ
    ):
        return Taker(enrollment_id=None)
    if not quiz.is_published:
        raise QuizNotFound("Quiz not found")
    raise PermissionDenied("Enroll in the course to take its quizzes", code="not_enrolled")


def _deadline(attempt: QuizAttempt) -> datetime | None:
    if attempt.expires_at is None:
        return None
    return attempt.expires_at + timedelta(seconds=get_settings().QUIZ_SUBMIT_GRACE_SECONDS)


def _is_expired(attempt: QuizAttempt, now: datetime) -> bool:
    deadline = _deadline(attempt)
    return deadline is not None and now > deadline


# --- grading -------------------------------------------------------------------------------


def _attempt_questions(db: Session, attempt: QuizAttempt) -> dict[str, QuizQuestion]:
    return repository.questions_by_id(db, [uuid.UUID(qid) for qid in attempt.question_order])


def _grade(
    db: Session,
    quiz: Quiz,
    attempt: QuizAttempt,
    answers: dict[str, Any],
    submitted_at: datetime,
    questions: dict[str, QuizQuestion] | None = None,
) -> bool:
    """Grade and close the attempt; False when another request closed it first. `questions`
    are the attempt's questions when the caller has already loaded them."""
    questions = questions if questions is not None else _attempt_questions(db, attempt)
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


def _close_if_expired(db: Session, quiz: Quiz, attempt: QuizAttempt) -> QuizAttempt:
    """Grade an attempt whose time ran out on its saved answers."""
    if attempt.status != AttemptStatus.IN_PROGRESS.value or not _is_expired(attempt, utcnow()):
        return attempt
    assert attempt.expires_at is not None
    _grade(db, quiz, attempt, dict(attempt.answers or {}), attempt.expires_at)
    return repository.reload_attempt(db, attempt.id)


def _close_expired_of_user(db: Session, quiz: Quiz, user: User) -> None:
    current = repository.in_progress_attempt(db, quiz.id, user.id)
    if current is not None:
        _close_if_expired(db, quiz, current)


# --- views -------------------------------------------------------------------------------


def _ordered_options(question: QuizQuestion, order: list[str]) -> list[OptionRead] | None:
    if question.options is None:
        return None
    by_id = {str(option["id"]): option for option in question.options}
    # Options added after the attempt started go last, removed ones disappear.
    ids = [oid for oid in order if oid in by_id] + [
        oid for oid in option_ids(question.options) if oid not in order
    ]
    return [OptionRead(id=oid, text=str(by_id[oid]["text"])) for oid in ids]


def attempt_view(
    db: Session,
    quiz: Quiz,
    attempt: QuizAttempt,
    *,
    viewer_manages: bool,
    questions: dict[str, QuizQuestion] | None = None,
) -> AttemptRead:
    questions = questions if questions is not None else _attempt_questions(db, attempt)
    reveal = attempt.status == AttemptStatus.GRADED.value and (
        quiz.show_correct_answers or viewer_manages
    )
    answers = attempt.answers or {}
    results = attempt.results or {}
    items: list[AttemptQuestion] = []
    for qid in attempt.question_order:
        question = questions.get(qid)
        if question is None:
            continue
        result = None
        if reveal and qid in results:
            result = QuestionResult(
                points_awarded=Decimal(results[qid]["points"]),
                is_correct=bool(results[qid]["is_correct"]),
                correct_answer=question.correct_answer,
                explanation=question.explanation,
            )
        items.append(
            AttemptQuestion(
                id=question.id,
                question_text=question.question_text,
                question_type=question.question_type,
                points=question.points,
                options=_ordered_options(question, attempt.option_order.get(qid, [])),
                answer=answers.get(qid),
                result=result,
            )
        )
    summary = AttemptSummary.model_validate(attempt)
    return AttemptRead(**summary.model_dump(), questions=items)


def _visible_attempt(
    db: Session, quiz_id: uuid.UUID, attempt_id: uuid.UUID, user: User
) -> tuple[Quiz, QuizAttempt, bool]:
    quiz = _load_quiz(db, quiz_id)
    attempt = repository.get_attempt(db, quiz.id, attempt_id)
    if attempt is None:
        raise AttemptNotFound("Attempt not found")
    manager = courses_access.grades_student(
        db, course_id=quiz.course_id, user=user, student_id=attempt.user_id
    )
    if attempt.user_id != user.id and not manager:
        # Another student's attempt answers 404 so its existence does not leak.
        raise AttemptNotFound("Attempt not found")
    return quiz, attempt, manager


# --- operations --------------------------------------------------------------------------


def start_info(db: Session, *, quiz_id: uuid.UUID, user: User) -> AttemptStartInfo:
    quiz = _load_quiz(db, quiz_id)
    taker = _taker(db, quiz, user)
    now = utcnow()
    count, _highest = repository.attempt_stats(db, quiz.id, user.id)
    current = repository.in_progress_attempt(db, quiz.id, user.id)
    open_attempt = current if current is not None and not _is_expired(current, now) else None
    reason = None
    if open_attempt is None:
        if repository.count_questions(db, quiz.id) == 0:
            reason = "the quiz has no questions"
        elif _no_attempts_left(quiz, taker, count):
            reason = "no attempts left"
        elif not taker.is_preview:
            try:
                assess(quiz, quiz_service.student_deadlines_of(db, quiz, user.id), now=now)
            except BusinessRuleViolation as exc:
                reason = exc.detail
    return AttemptStartInfo(
        quiz_id=quiz.id,
        can_start=reason is None,
        reason=reason,
        attempts_used=count,
        max_attempts=quiz.max_attempts,
        in_progress_attempt_id=open_attempt.id if open_attempt else None,
        time_limit_minutes=quiz.time_limit_minutes,
    )


def _time_limit_end(quiz: Quiz, start: datetime) -> datetime | None:
    return start + timedelta(minutes=quiz.time_limit_minutes) if quiz.time_limit_minutes else None


def _no_attempts_left(quiz: Quiz, taker: Taker, used: int) -> bool:
    return not taker.is_preview and quiz.max_attempts is not None and used >= quiz.max_attempts


def start_attempt(db: Session, *, quiz_id: uuid.UUID, user: User) -> tuple[AttemptRead, bool]:
    """Start a new attempt, or resume the open one; the flag says whether one was created."""
    quiz = _load_quiz(db, quiz_id)
    taker = _taker(db, quiz, user)
    release.require_open(db, user=user, kind=ItemKind.QUIZ, target_id=quiz.id)
    manager = taker.is_preview
    now = utcnow()
    current = repository.in_progress_attempt(db, quiz.id, user.id)
    if current is not None and not _is_expired(current, now):
        return attempt_view(db, quiz, current, viewer_manages=manager), False
    count, highest = repository.attempt_stats(db, quiz.id, user.id)
    if _no_attempts_left(quiz, taker, max(count, highest)):
        raise BusinessRuleViolation(
            f"All {quiz.max_attempts} attempts of this quiz are used",
            code="max_attempts_reached",
        )
    closes = None
    if not taker.is_preview:
        # Refused past the lock (or the due date under `refuse`), and an attempt never runs
        # beyond that moment: its time is up then, like at the end of a time limit.
        deadlines = quiz_service.student_deadlines_of(db, quiz, user.id)
        assess(quiz, deadlines, now=now)
        closes = closes_at(quiz, deadlines)
    if current is not None:
        _close_if_expired(db, quiz, current)
    questions = repository.list_questions(db, quiz.id)
    if not questions:
        raise BusinessRuleViolation("The quiz has no questions", code="quiz_has_no_questions")
    ends = [end for end in (closes, _time_limit_end(quiz, now)) if end is not None]
    question_order, option_order = attempt_order(
        [(str(q.id), option_ids(q.options)) for q in questions],
        shuffle_questions=quiz.shuffle_questions,
        shuffle_options=quiz.shuffle_options,
    )
    attempt = QuizAttempt(
        quiz_id=quiz.id,
        enrollment_id=taker.enrollment_id,
        user_id=user.id,
        attempt_number=highest + 1,
        status=AttemptStatus.IN_PROGRESS.value,
        started_at=now,
        expires_at=min(ends) if ends else None,
        answers={},
        question_order=question_order,
        option_order=option_order,
    )
    try:
        with db.begin_nested():
            db.add(attempt)
            db.flush()
    except IntegrityError as exc:
        # A concurrent start by the same user committed first: resume its attempt.
        winner = repository.in_progress_attempt(db, quiz.id, user.id)
        if winner is None:
            raise Conflict(
                "Another attempt was started at the same time; try again",
                code="attempt_conflict",
            ) from exc
        return attempt_view(db, quiz, winner, viewer_manages=manager), False
    return attempt_view(db, quiz, attempt, viewer_manages=manager), True


def _merged_answers(
    questions: dict[str, QuizQuestion], attempt: QuizAttempt, incoming: list[AnswerIn]
) -> dict[str, Any]:
    merged = dict(attempt.answers or {})
    errors: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in incoming:
        qid = str(item.question_id)
        question = questions.get(qid)
        if qid in seen:
            errors.append({"question_id": qid, "message": "answered more than once"})
        elif question is None:
            errors.append({"question_id": qid, "message": "is not a question of this attempt"})
        else:
            problem = answer_problem(question.question_type, question.options, item.answer)
            if problem:
                errors.append({"question_id": qid, "message": f"answer {problem}"})
            elif item.answer is None:
                merged.pop(qid, None)
            else:
                merged[qid] = item.answer
        seen.add(qid)
    if errors:
        raise BusinessRuleViolation(
            "Some answers are not valid for their questions",
            code="invalid_answers",
            extra={"errors": errors},
        )
    return merged


def _own_open_attempt(
    db: Session, quiz_id: uuid.UUID, attempt_id: uuid.UUID, user: User
) -> tuple[Quiz, QuizAttempt]:
    quiz = _load_quiz(db, quiz_id)
    attempt = repository.get_attempt(db, quiz.id, attempt_id)
    if attempt is None or attempt.user_id != user.id:
        raise AttemptNotFound("Attempt not found")
    return quiz, attempt


def save_answers(
    db: Session, *, quiz_id: uuid.UUID, attempt_id: uuid.UUID, user: User, answers: list[AnswerIn]
) -> AttemptRead:
    quiz, attempt = _own_open_attempt(db, quiz_id, attempt_id, user)
    release.require_open(db, user=user, kind=ItemKind.QUIZ, target_id=quiz.id)
    if attempt.status != AttemptStatus.IN_PROGRESS.value:
        raise Conflict("The attempt is already submitted", code="attempt_submitted")
    if _is_expired(attempt, utcnow()):
        raise Conflict(
            "The time limit has passed; submit to be graded on the saved answers",
            code="attempt_expired",
        )
    questions = _attempt_questions(db, attempt)
    merged = _merged_answers(questions, attempt, answers)
    if not repository.save_answers(db, attempt.id, merged):
        raise Conflict("The attempt is already submitted", code="attempt_submitted")
    attempt = repository.reload_attempt(db, attempt.id)
    return attempt_view(db, quiz, attempt, viewer_manages=False, questions=questions)


def submit_attempt(
    db: Session, *, quiz_id: uuid.UUID, attempt_id: uuid.UUID, user: User, answers: list[AnswerIn]
) -> AttemptRead:
    quiz, attempt = _own_open_attempt(db, quiz_id, attempt_id, user)
    release.require_open(db, user=user, kind=ItemKind.QUIZ, target_id=quiz.id)
    manager = attempt.enrollment_id is None
    # Loaded once for validating, grading and showing the answers.
    questions = _attempt_questions(db, attempt)
    if attempt.status == AttemptStatus.IN_PROGRESS.value:
        now = utcnow()
        if _is_expired(attempt, now):
            assert attempt.expires_at is not None
            answers_to_grade, submitted_at = dict(attempt.answers or {}), attempt.expires_at
        else:
            answers_to_grade, submitted_at = _merged_answers(questions, attempt, answers), now
        _grade(db, quiz, attempt, answers_to_grade, submitted_at, questions)
        attempt = repository.reload_attempt(db, attempt.id)
    return attempt_view(db, quiz, attempt, viewer_manages=manager, questions=questions)


def get_attempt(
    db: Session, *, quiz_id: uuid.UUID, attempt_id: uuid.UUID, user: User
) -> AttemptRead:
    quiz, attempt, manager = _visible_attempt(db, quiz_id, attempt_id, user)
    attempt = _close_if_expired(db, quiz, attempt)
    return attempt_view(db, quiz, attempt, viewer_manages=manager)


def my_attempts(
    db: Session, *, quiz_id: uuid.UUID, user: User, params: PageParams
) -> Page[AttemptSummary]:
    quiz = _load_quiz(db, quiz_id)
    _close_expired_of_user(db, quiz, user)
    rows, total = paginate(db, repository.attempts_of_user(quiz.id, user.id), params)
    return Page[AttemptSummary].build(
        [AttemptSummary.model_validate(row) for row in rows], total, params
    )


def quiz_attempts(
    db: Session, *, quiz_id: uuid.UUID, user: User, params: PageParams
) -> Page[AttemptSummary]:
    """Every attempt at a quiz, for the course's instructor and admins."""
    quiz = _load_quiz(db, quiz_id)
    scope = courses_access.grading_scope(db, course_id=quiz.course_id, user=user)
    rows, total = paginate(
        db, repository.attempts_of_quiz(quiz.id, students=scope.student_ids()), params
    )
    return Page[AttemptSummary].build(
        [AttemptSummary.model_validate(row) for row in rows], total, params
    )
