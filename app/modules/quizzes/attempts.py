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

from app.core.database import utcnow
from app.core.errors import BusinessRuleViolation, Conflict, NotFound, PermissionDenied
from app.core.latework import assess, closes_at
from app.core.pagination import Page, PageParams, paginate
from app.modules.courses import access as courses_access
from app.modules.courses import locks
from app.modules.courses.models import ItemKind
from app.modules.enrollments import service as enrollments_service
from app.modules.quizzes import finishing, repository
from app.modules.quizzes import service as quiz_service
from app.modules.quizzes.grading import (
    answer_problem,
    attempt_order,
    option_ids,
)
from app.modules.quizzes.models import AttemptStatus, Quiz, QuizAttempt, QuizQuestion
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
    questions = questions if questions is not None else finishing.attempt_questions(db, attempt)
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
    # As `start_attempt` would answer: hidden is not found, locked is 403 with the reasons.
    locks.require_open(db, user=user, kind=ItemKind.QUIZ, target_id=quiz.id)
    now = utcnow()
    count, _highest = repository.attempt_stats(db, quiz.id, user.id)
    current = repository.in_progress_attempt(db, quiz.id, user.id)
    resumable = current is not None and not finishing.is_expired(current, now)
    open_attempt = current if resumable else None
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
    locks.require_open(db, user=user, kind=ItemKind.QUIZ, target_id=quiz.id)
    manager = taker.is_preview
    now = utcnow()
    current = repository.in_progress_attempt(db, quiz.id, user.id)
    if current is not None and not finishing.is_expired(current, now):
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
        finishing.close_if_expired(db, quiz, current)
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
    locks.require_open(db, user=user, kind=ItemKind.QUIZ, target_id=quiz.id)
    if attempt.status != AttemptStatus.IN_PROGRESS.value:
        raise Conflict("The attempt is already submitted", code="attempt_submitted")
    if finishing.is_expired(attempt, utcnow()):
        raise Conflict(
            "The time limit has passed; submit to be graded on the saved answers",
            code="attempt_expired",
        )
    questions = finishing.attempt_questions(db, attempt)
    merged = _merged_answers(questions, attempt, answers)
    if not repository.save_answers(db, attempt.id, merged):
        raise Conflict("The attempt is already submitted", code="attempt_submitted")
    attempt = repository.reload_attempt(db, attempt.id)
    return attempt_view(db, quiz, attempt, viewer_manages=False, questions=questions)


def submit_attempt(
    db: Session, *, quiz_id: uuid.UUID, attempt_id: uuid.UUID, user: User, answers: list[AnswerIn]
) -> AttemptRead:
    quiz, attempt = _own_open_attempt(db, quiz_id, attempt_id, user)
    locks.require_open(db, user=user, kind=ItemKind.QUIZ, target_id=quiz.id)
    manager = attempt.enrollment_id is None
    # Loaded once for validating, grading and showing the answers.
    questions = finishing.attempt_questions(db, attempt)
    if attempt.status == AttemptStatus.IN_PROGRESS.value:
        now = utcnow()
        if finishing.is_expired(attempt, now):
            assert attempt.expires_at is not None
            answers_to_grade, submitted_at = dict(attempt.answers or {}), attempt.expires_at
        else:
            answers_to_grade, submitted_at = _merged_answers(questions, attempt, answers), now
        finishing.grade(db, quiz, attempt, answers_to_grade, submitted_at, questions)
        attempt = repository.reload_attempt(db, attempt.id)
    return attempt_view(db, quiz, attempt, viewer_manages=manager, questions=questions)


def get_attempt(
    db: Session, *, quiz_id: uuid.UUID, attempt_id: uuid.UUID, user: User
) -> AttemptRead:
    quiz, attempt, manager = _visible_attempt(db, quiz_id, attempt_id, user)
    attempt = finishing.close_if_expired(db, quiz, attempt)
    return attempt_view(db, quiz, attempt, viewer_manages=manager)


def my_attempts(
    db: Session, *, quiz_id: uuid.UUID, user: User, params: PageParams
) -> Page[AttemptSummary]:
    quiz = _load_quiz(db, quiz_id)
    finishing.close_expired_of_user(db, quiz, user)
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
