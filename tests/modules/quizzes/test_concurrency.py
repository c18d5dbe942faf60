"""max_attempts under concurrent starts and double submits, on PostgreSQL (SQLite serializes
writers with BEGIN IMMEDIATE, so races only exist on a real server)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from app.core.database import session_scope
from app.core.errors import DomainError
from app.modules.quizzes import attempts, finishing
from app.modules.quizzes.models import QuizAttempt
from app.modules.users.models import User
from tests.modules.quizzes.factories import ALL_RIGHT, enroll, make_course, make_quiz

pytestmark = pytest.mark.postgres

THREADS = 6


def _race(work: Callable[[], Any]) -> list[Any]:
    """Run `work` in THREADS threads released at the same instant; return results/errors."""
    barrier = threading.Barrier(THREADS)
    outcomes: list[Any] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            result: Any = work()
        except DomainError as exc:
            result = exc
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == THREADS
    return outcomes


def _start(quiz_id: Any, user_id: Any) -> Any:
    with session_scope() as db:
        user = db.get(User, user_id)
        assert user is not None
        attempt, _created = attempts.start_attempt(db, quiz_id=quiz_id, user=user)
        return attempt


def _count(quiz_id: Any) -> int:
    with session_scope() as db:
        return int(db.scalar(select(func.count()).where(QuizAttempt.quiz_id == quiz_id)) or 0)


def test_concurrent_starts_never_exceed_max_attempts(instructor: Any, student: Any) -> None:
    course = make_course(instructor)
    enroll(student, course)
    quiz = make_quiz(course, max_attempts=2)

    first = _race(lambda: _start(quiz.id, student.id))
    ids = {outcome.id for outcome in first if not isinstance(outcome, DomainError)}
    assert len(ids) == 1, first  # everyone got (or resumed) the same attempt
    assert _count(quiz.id) == 1

    with session_scope() as db:
        user = db.get(User, student.id)
        assert user is not None
        attempts.submit_attempt(db, quiz_id=quiz.id, attempt_id=ids.pop(), user=user, answers=[])

    second = _race(lambda: _start(quiz.id, student.id))
    numbers = {o.attempt_number for o in second if not isinstance(o, DomainError)}
    assert numbers == {2}, second
    assert _count(quiz.id) == 2
    with session_scope() as db:
        user = db.get(User, student.id)
        assert user is not None
        current = db.scalars(select(QuizAttempt).where(QuizAttempt.status == "in_progress")).one()
        attempts.submit_attempt(db, quiz_id=quiz.id, attempt_id=current.id, user=user, answers=[])

    third = _race(lambda: _start(quiz.id, student.id))
    assert all(isinstance(o, DomainError) and o.code == "max_attempts_reached" for o in third), (
        third
    )
    assert _count(quiz.id) == 2


def test_concurrent_submits_grade_once(
    instructor: Any, student: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    quiz = make_quiz(course, quiz_type="graded")
    attempt = _start(quiz.id, student.id)
    graded: list[str] = []
    original = finishing.emit

    def _emit(session: Any, name: str, payload: dict[str, Any]) -> None:
        graded.append(payload["attempt_id"])
        original(session, name, payload)

    monkeypatch.setattr(finishing, "emit", _emit)
    from app.modules.quizzes.schemas import AnswerIn

    answers = [
        AnswerIn(question_id=quiz.question_ids[index], answer=value)
        for index, value in ALL_RIGHT.items()
    ]

    def submit() -> Any:
        with session_scope() as db:
            user = db.get(User, student.id)
            assert user is not None
            return attempts.submit_attempt(
                db, quiz_id=quiz.id, attempt_id=attempt.id, user=user, answers=answers
            )

    outcomes = _race(submit)
    assert all(not isinstance(o, DomainError) for o in outcomes), outcomes
    assert {(o.status, o.graded_at, o.percentage) for o in outcomes} == {
        ("graded", outcomes[0].graded_at, outcomes[0].percentage)
    }
    assert graded == [str(attempt.id)]
