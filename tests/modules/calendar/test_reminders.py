"""Due-date reminders: who gets one (24 hours ahead, not handed in, extension applied), once
per item and student, even when two runs overlap."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.core.database import session_scope, utcnow
from app.modules.assignments.models import AssignmentExtension
from app.modules.calendar import jobs, repository
from app.modules.calendar.models import DueReminder
from app.modules.courses.models import CourseSection, SectionItem
from app.modules.quizzes.models import QuizAttempt
from tests.modules.assignments.factories import make_assignment, make_submission
from tests.modules.payments.factories import clear_outbox, outbox_entries
from tests.modules.quizzes.factories import enroll, make_course, make_quiz

NOW = utcnow()
HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def _empty_outbox() -> None:
    clear_outbox()


@pytest.fixture
def population(instructor: Any, make_user: Any) -> dict[str, Any]:
    people = {
        name: make_user(role="student", email=f"{name}@example.com", **extra)
        for name, extra in {
            "due": {},
            "submitted": {},
            "extended": {},
            "opted_out": {"email_opt_out": True},
            "dropped": {},
            "inactive": {"is_active": False},
        }.items()
    }
    course = make_course(instructor)
    enrollments = {
        name: enroll(user, course, status="dropped" if name == "dropped" else "active")
        for name, user in people.items()
    }
    essay = make_assignment(course, title="Essay", due_at=NOW + 20 * HOUR)
    make_assignment(course, title="Later", due_at=NOW + 50 * HOUR)
    make_assignment(course, title="Past", due_at=NOW - HOUR)
    make_assignment(course, title="Draft", due_at=NOW + 2 * HOUR, published=False)
    hidden = make_assignment(course, title="Next term", due_at=NOW + 3 * HOUR)
    make_submission(essay, enrollments["submitted"], people["submitted"])
    quiz = make_quiz(course, title="Quiz", due_at=NOW + 10 * HOUR)
    with session_scope() as db:
        # Published, but in an unpublished section: students cannot see it yet.
        section = CourseSection(course_id=course.id, title="Next term", position=9)
        db.add(section)
        db.flush()
        db.add(
            SectionItem(
                course_id=course.id,
                section_id=section.id,
                kind="assignment",
                assignment_id=hidden,
                position=0,
            )
        )
        db.add(
            AssignmentExtension(
                assignment_id=essay, student_id=people["extended"].id, due_at=NOW + 40 * HOUR
            )
        )
        db.add(
            QuizAttempt(
                quiz_id=quiz.id,
                enrollment_id=enrollments["submitted"],
                user_id=people["submitted"].id,
                attempt_number=1,
                status="graded",
            )
        )
    return {"people": people, "essay": essay, "quiz": quiz}


def _mail() -> list[tuple[str, str]]:
    return sorted((entry["to"], entry["subject"]) for entry in outbox_entries())


EXPECTED = [
    ("due@example.com", "Due soon: Essay"),
    ("due@example.com", "Due soon: Quiz"),
    ("extended@example.com", "Due soon: Quiz"),
]


def test_reminds_students_who_have_not_handed_in_work_due_within_a_day(
    population: dict[str, Any],
) -> None:
    with session_scope() as db:
        assert jobs.send_due_reminders(db, now=NOW) == 3
    assert _mail() == EXPECTED
    with session_scope() as db:
        assert jobs.send_due_reminders(db, now=NOW + HOUR) == 0
    assert len(outbox_entries()) == 3
    # The extended student hears about the essay a day before their own due date.
    with session_scope() as db:
        assert jobs.send_due_reminders(db, now=NOW + 17 * HOUR) == 1
    assert outbox_entries()[-1]["to"] == "extended@example.com"


@pytest.mark.postgres
def test_two_concurrent_runs_send_each_reminder_once(
    population: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both runs have read the same candidates before either claims one (SQLite serializes
    # whole write transactions, so the race exists on PostgreSQL only).
    barrier = threading.Barrier(2)
    claim = repository.claim_reminder
    waited = threading.local()

    def claim_after_both_read(db: Any, kind: str, row: Any) -> bool:
        if not getattr(waited, "done", False):
            waited.done = True
            barrier.wait(timeout=30)
        return claim(db, kind, row)

    monkeypatch.setattr(repository, "claim_reminder", claim_after_both_read)
    counts: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with session_scope() as db:
                counts.append(jobs.send_due_reminders(db, now=NOW))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and sum(counts) == 3
    assert _mail() == EXPECTED
    with session_scope() as db:
        assert db.scalar(select(func.count()).select_from(DueReminder)) == 3


def test_the_job_runs_as_a_task(population: dict[str, Any]) -> None:
    assert jobs.due_reminders_job.apply().get() == 3
    assert _mail() == EXPECTED
