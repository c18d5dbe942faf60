"""Quiz attempts: access, secrecy of answers, resume, order, time limit, grading, completion."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.core.database import session_scope, utcnow
from app.modules.enrollments.models import LessonProgress
from app.modules.notifications import inbox
from app.modules.quizzes import finishing
from app.modules.quizzes.models import QuizAttempt
from app.modules.quizzes.service import graded_quizzes_passed
from tests.factories import statements
from tests.modules.quizzes.factories import (
    ALL_RIGHT,
    answers_payload,
    enroll,
    make_course,
    make_quiz,
)

H = Callable[[Any], dict[str, str]]
SECRETS = ("correct_answer", "is_correct", "explanation", "Basic arithmetic", "Rayleigh")


def _start(client: TestClient, quiz: Any, headers: dict[str, str]) -> Any:
    return client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers)


def _url(quiz: Any, attempt_id: str, suffix: str = "") -> str:
    return f"/api/v1/quizzes/{quiz.id}/attempts/{attempt_id}{suffix}"


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    recorded: list[tuple[str, dict[str, Any]]] = []
    original = finishing.emit

    def _emit(session: Any, name: str, payload: dict[str, Any]) -> None:
        recorded.append((name, payload))
        original(session, name, payload)

    monkeypatch.setattr(finishing, "emit", _emit)
    return recorded


@pytest.fixture
def emails(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    recorded: list[dict[str, Any]] = []
    # Grade emails go out through the notify path, which queues them.
    original = inbox.queue_email

    def _queue(session: Any, **kwargs: Any) -> bool:
        recorded.append(kwargs)
        return original(session, **kwargs)

    monkeypatch.setattr(inbox, "queue_email", _queue)
    return recorded


def test_students_never_receive_answers_before_submission_or_when_hidden(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    quiz = make_quiz(course, show_correct_answers=False)
    headers = auth_headers(student)

    started = _start(client, quiz, headers)
    assert started.status_code == 201, started.text
    for secret in SECRETS:
        assert secret not in started.text
    attempt = started.json()
    assert [q["result"] for q in attempt["questions"]] == [None] * 4

    saved = client.put(
        _url(quiz, attempt["id"], "/answers"), json=answers_payload(quiz, {0: "b"}), headers=headers
    )
    assert saved.status_code == 200
    assert all(secret not in saved.text for secret in SECRETS)

    submitted = client.post(
        _url(quiz, attempt["id"], "/submit"), json=answers_payload(quiz, ALL_RIGHT), headers=headers
    )
    assert submitted.status_code == 200
    assert submitted.json()["percentage"] == "100.00"
    for response in (
        submitted,
        client.get(_url(quiz, attempt["id"]), headers=headers),
        client.get(f"/api/v1/quizzes/{quiz.id}/attempts/my-attempts", headers=headers),
    ):
        for secret in SECRETS:
            assert secret not in response.text, (secret, response.text)

    # The course's instructor still sees the full results.
    owner = client.get(_url(quiz, attempt["id"]), headers=auth_headers(instructor)).json()
    assert owner["questions"][0]["result"]["correct_answer"] == "b"


def test_results_show_correctness_when_the_quiz_allows_it(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    quiz = make_quiz(course)
    headers = auth_headers(student)
    attempt = _start(client, quiz, headers).json()
    with statements() as seen:
        result = client.post(
            _url(quiz, attempt["id"], "/submit"),
            json=answers_payload(quiz, {0: "a", 1: ["p2", "p3", "p5"], 2: True, 3: "Lyon"}),
            headers=headers,
        ).json()
    # Validating, grading and showing the answers share one read of the questions.
    assert len([sql for sql in seen if "FROM quiz_questions" in sql]) == 1
    by_id = {q["id"]: q for q in result["questions"]}
    first = by_id[str(quiz.question_ids[0])]["result"]
    assert first == {
        "points_awarded": "0.00",
        "is_correct": False,
        "correct_answer": "b",
        "explanation": "Basic arithmetic.",
    }
    assert by_id[str(quiz.question_ids[1])]["result"]["points_awarded"] == "2.00"
    assert (result["score"], result["max_score"], result["percentage"]) == ("3.00", "5.00", "60.00")
    assert result["is_passed"] is False and result["status"] == "graded"


def test_partial_credit_quiz_setting(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    strict = make_quiz(course, title="Strict")
    lenient = make_quiz(course, title="Lenient", partial_credit=True)
    headers = auth_headers(student)
    scores = []
    for quiz in (strict, lenient):
        attempt = _start(client, quiz, headers).json()
        result = client.post(
            _url(quiz, attempt["id"], "/submit"),
            json=answers_payload(quiz, {1: ["p2", "p3"]}),  # 2 of 3 primes, no wrong pick
            headers=headers,
        ).json()
        scores.append(result["score"])
    assert scores == ["0.00", "1.33"]


def test_another_student_cannot_see_or_submit_an_attempt(
    client: TestClient, instructor: Any, student: Any, make_user: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    other = make_user(role="student")
    enroll(other, course)
    quiz = make_quiz(course)
    attempt = _start(client, quiz, auth_headers(student)).json()
    intruder = auth_headers(other)
    assert client.get(_url(quiz, attempt["id"]), headers=intruder).status_code == 404
    submit = client.post(
        _url(quiz, attempt["id"], "/submit"),
        json=answers_payload(quiz, ALL_RIGHT),
        headers=intruder,
    )
    assert submit.status_code == 404
    save = client.put(
        _url(quiz, attempt["id"], "/answers"),
        json=answers_payload(quiz, {0: "b"}),
        headers=intruder,
    )
    assert save.status_code == 404
    mine = client.get(f"/api/v1/quizzes/{quiz.id}/attempts/my-attempts", headers=intruder).json()
    assert mine["total"] == 0
    assert client.get(f"/api/v1/quizzes/{quiz.id}/attempts", headers=intruder).status_code == 403
    with session_scope() as db:
        row = db.get(QuizAttempt, uuid.UUID(attempt["id"]))
        assert row is not None and row.status == "in_progress" and row.answers == {}


def test_instructor_of_another_course_cannot_see_attempts(
    client: TestClient, instructor: Any, student: Any, make_user: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    quiz = make_quiz(course)
    attempt = _start(client, quiz, auth_headers(student)).json()
    intruder = auth_headers(make_user(role="instructor"))
    assert client.get(_url(quiz, attempt["id"]), headers=intruder).status_code == 404
    assert client.get(f"/api/v1/quizzes/{quiz.id}/attempts", headers=intruder).status_code == 403
    # ... and cannot take it without enrolling.
    assert _start(client, quiz, intruder).status_code == 403
    owner_list = client.get(f"/api/v1/quizzes/{quiz.id}/attempts", headers=auth_headers(instructor))
    assert owner_list.json()["total"] == 1


def test_only_enrolled_students_attempt_published_quizzes(
    client: TestClient, instructor: Any, student: Any, make_user: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    quiz = make_quiz(course)
    draft = make_quiz(course, published=False)
    outsider = _start(client, quiz, auth_headers(student))
    assert outsider.status_code == 403 and outsider.json()["code"] == "not_enrolled"
    dropped = make_user(role="student")
    enroll(dropped, course, status="dropped")
    assert _start(client, quiz, auth_headers(dropped)).status_code == 403
    enroll(student, course)
    assert _start(client, draft, auth_headers(student)).status_code == 404
    with session_scope() as db:
        assert db.scalars(select(QuizAttempt)).all() == []


def test_owner_previews_a_draft_without_it_counting(
    client: TestClient, instructor: Any, auth_headers: H, events: list[Any]
) -> None:
    course = make_course(instructor)
    quiz = make_quiz(course, published=False, max_attempts=1, quiz_type="graded")
    headers = auth_headers(instructor)
    for _ in range(2):  # max_attempts does not apply to previews
        attempt = _start(client, quiz, headers)
        assert attempt.status_code == 201
        graded = client.post(
            _url(quiz, attempt.json()["id"], "/submit"),
            json=answers_payload(quiz, ALL_RIGHT),
            headers=headers,
        ).json()
        assert graded["enrollment_id"] is None and graded["is_passed"] is True
    assert events == []


def test_resume_returns_the_same_attempt_with_saved_answers(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    quiz = make_quiz(course)
    headers = auth_headers(student)
    first = _start(client, quiz, headers)
    assert first.status_code == 201
    attempt_id = first.json()["id"]
    client.put(
        _url(quiz, attempt_id, "/answers"),
        json=answers_payload(quiz, {0: "b", 3: "Paris"}),
        headers=headers,
    )
    # Clearing one answer with null.
    client.put(
        _url(quiz, attempt_id, "/answers"), json=answers_payload(quiz, {3: None}), headers=headers
    )
    again = _start(client, quiz, headers)
    assert again.status_code == 200
    assert again.json()["id"] == attempt_id and again.json()["attempt_number"] == 1
    answers = {q["id"]: q["answer"] for q in again.json()["questions"]}
    assert answers[str(quiz.question_ids[0])] == "b"
    assert answers[str(quiz.question_ids[3])] is None
    info = client.get(f"/api/v1/quizzes/{quiz.id}/attempts/start", headers=headers).json()
    assert info["in_progress_attempt_id"] == attempt_id and info["attempts_used"] == 1


def test_shuffle_is_stable_within_an_attempt(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    many = [
        {
            "question_text": f"Q{i}",
            "question_type": "multiple_choice",
            "options": [{"id": f"o{j}", "text": str(j)} for j in range(6)],
            "correct_answer": "o0",
            "points": Decimal("1"),
        }
        for i in range(12)
    ]
    quiz = make_quiz(course, questions=many, shuffle_questions=True, shuffle_options=True)
    headers = auth_headers(student)
    started = _start(client, quiz, headers).json()

    def layout(body: dict[str, Any]) -> list[tuple[str, list[str]]]:
        return [(q["id"], [o["id"] for o in q["options"]]) for q in body["questions"]]

    first = layout(started)
    assert first != [(str(q), [f"o{j}" for j in range(6)]) for q in quiz.question_ids]
    for _ in range(3):
        assert layout(client.get(_url(quiz, started["id"]), headers=headers).json()) == first
        assert layout(_start(client, quiz, headers).json()) == first
    with session_scope() as db:
        row = db.get(QuizAttempt, uuid.UUID(started["id"]))
        assert row is not None and row.question_order == [q for q, _ in first]


def test_max_attempts_is_enforced(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    quiz = make_quiz(course, max_attempts=2)
    headers = auth_headers(student)
    for number in (1, 2):
        attempt = _start(client, quiz, headers)
        assert attempt.status_code == 201 and attempt.json()["attempt_number"] == number
        client.post(
            _url(quiz, attempt.json()["id"], "/submit"), json={"answers": []}, headers=headers
        )
    third = _start(client, quiz, headers)
    assert third.status_code == 422 and third.json()["code"] == "max_attempts_reached"
    info = client.get(f"/api/v1/quizzes/{quiz.id}/attempts/start", headers=headers).json()
    assert info["can_start"] is False and info["attempts_used"] == 2
    mine = client.get(f"/api/v1/quizzes/{quiz.id}/attempts/my-attempts", headers=headers).json()
    assert [a["attempt_number"] for a in mine["items"]] == [2, 1]


def test_double_submit_grades_once(
    client: TestClient,
    instructor: Any,
    student: Any,
    auth_headers: H,
    events: list[Any],
    emails: list[Any],
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    quiz = make_quiz(course, quiz_type="graded")
    headers = auth_headers(student)
    attempt = _start(client, quiz, headers).json()
    first = client.post(
        _url(quiz, attempt["id"], "/submit"), json=answers_payload(quiz, ALL_RIGHT), headers=headers
    )
    second = client.post(
        _url(quiz, attempt["id"], "/submit"), json=answers_payload(quiz, {0: "a"}), headers=headers
    )
    assert first.status_code == second.status_code == 200
    assert second.json()["graded_at"] == first.json()["graded_at"]
    assert second.json()["percentage"] == "100.00"
    assert len(events) == 1 and events[0][0] == "quiz.attempt.graded"
    assert events[0][1]["is_passed"] is True and events[0][1]["percentage"] == "100.00"
    assert len(emails) == 1 and emails[0]["template"] == "quiz_result"
    late_save = client.put(
        _url(quiz, attempt["id"], "/answers"), json=answers_payload(quiz, {0: "a"}), headers=headers
    )
    assert late_save.status_code == 409


def test_answers_are_validated_and_nothing_is_saved_on_error(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    quiz = make_quiz(course)
    other = make_quiz(course, title="Other")
    headers = auth_headers(student)
    attempt = _start(client, quiz, headers).json()
    bad_payloads = [
        answers_payload(quiz, {0: "z"}),
        answers_payload(quiz, {0: "b", 1: "p2"}),
        answers_payload(quiz, {2: "true"}),
        answers_payload(quiz, {3: ["Paris"]}),
        {"answers": [{"question_id": str(other.question_ids[0]), "answer": "b"}]},
        {"answers": [{"question_id": str(quiz.question_ids[0]), "answer": "b"}] * 2},
    ]
    for payload in bad_payloads:
        for suffix in ("/answers", "/submit"):
            method = client.put if suffix == "/answers" else client.post
            response = method(_url(quiz, attempt["id"], suffix), json=payload, headers=headers)
            assert response.status_code == 422, (payload, response.text)
    with session_scope() as db:
        row = db.get(QuizAttempt, uuid.UUID(attempt["id"]))
        assert row is not None and row.answers == {} and row.status == "in_progress"


def _expire(attempt_id: str, seconds_ago: int) -> None:
    with session_scope() as db:
        started = utcnow() - timedelta(minutes=10, seconds=seconds_ago)
        db.execute(
            update(QuizAttempt)
            .where(QuizAttempt.id == uuid.UUID(attempt_id))
            .values(started_at=started, expires_at=utcnow() - timedelta(seconds=seconds_ago))
        )


def test_time_limit_submit_after_grace_is_graded_on_saved_answers(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    quiz = make_quiz(course, time_limit_minutes=10)
    headers = auth_headers(student)
    attempt = _start(client, quiz, headers).json()
    assert attempt["expires_at"] is not None
    client.put(
        _url(quiz, attempt["id"], "/answers"), json=answers_payload(quiz, {0: "b"}), headers=headers
    )
    _expire(attempt["id"], seconds_ago=120)  # well past the 30 s grace

    refused = client.put(
        _url(quiz, attempt["id"], "/answers"),
        json=answers_payload(quiz, {2: True}),
        headers=headers,
    )
    assert refused.status_code == 409 and refused.json()["code"] == "attempt_expired"
    result = client.post(
        _url(quiz, attempt["id"], "/submit"), json=answers_payload(quiz, ALL_RIGHT), headers=headers
    ).json()
    assert result["status"] == "graded"
    assert result["score"] == "1.00"  # only the saved answer counted
    assert result["submitted_at"] == result["expires_at"]
    assert result["time_taken_seconds"] == 600


def test_time_limit_submit_within_grace_counts(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    quiz = make_quiz(course, time_limit_minutes=10)
    headers = auth_headers(student)
    attempt = _start(client, quiz, headers).json()
    _expire(attempt["id"], seconds_ago=5)
    result = client.post(
        _url(quiz, attempt["id"], "/submit"), json=answers_payload(quiz, ALL_RIGHT), headers=headers
    ).json()
    assert result["percentage"] == "100.00"
    assert result["submitted_at"] > result["expires_at"]


def test_expired_attempt_is_closed_when_read_and_a_new_one_can_start(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    quiz = make_quiz(course, time_limit_minutes=10, max_attempts=2)
    headers = auth_headers(student)
    attempt = _start(client, quiz, headers).json()
    client.put(
        _url(quiz, attempt["id"], "/answers"),
        json=answers_payload(quiz, {2: True}),
        headers=headers,
    )
    _expire(attempt["id"], seconds_ago=300)
    read = client.get(_url(quiz, attempt["id"]), headers=headers).json()
    assert read["status"] == "graded" and read["score"] == "1.00"
    second = _start(client, quiz, headers)
    assert second.status_code == 201 and second.json()["attempt_number"] == 2


def test_expired_attempt_closes_on_start(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    quiz = make_quiz(course, time_limit_minutes=5)
    headers = auth_headers(student)
    first = _start(client, quiz, headers).json()
    _expire(first["id"], seconds_ago=300)
    second = _start(client, quiz, headers)
    assert second.status_code == 201 and second.json()["id"] != first["id"]
    with session_scope() as db:
        row = db.get(QuizAttempt, uuid.UUID(first["id"]))
        assert row is not None and row.status == "graded"


def test_passing_a_graded_quiz_completes_its_quiz_lesson(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, events: list[Any]
) -> None:
    course = make_course(instructor, lesson_types=("text", "quiz"))
    enrollment_id = enroll(student, course)
    quiz = make_quiz(course, quiz_type="graded", lesson_id=course.lesson_ids[1])
    practice = make_quiz(course, title="Practice")
    headers = auth_headers(student)
    with session_scope() as db:
        assert graded_quizzes_passed(db, enrollment_id=enrollment_id, course_id=course.id) is False

    failed = _start(client, quiz, headers).json()
    client.post(_url(quiz, failed["id"], "/submit"), json={"answers": []}, headers=headers)
    with session_scope() as db:
        assert db.scalars(select(LessonProgress)).all() == []
        assert graded_quizzes_passed(db, enrollment_id=enrollment_id, course_id=course.id) is False

    passed = _start(client, quiz, headers).json()
    client.post(
        _url(quiz, passed["id"], "/submit"), json=answers_payload(quiz, ALL_RIGHT), headers=headers
    )
    with session_scope() as db:
        progress = db.scalars(select(LessonProgress)).all()
        assert [(p.lesson_id, p.status) for p in progress] == [(course.lesson_ids[1], "completed")]
        assert graded_quizzes_passed(db, enrollment_id=enrollment_id, course_id=course.id) is True
    assert [e[1]["attempt_id"] for e in events] == [failed["id"], passed["id"]]
    assert events[1][1]["enrollment_id"] == str(enrollment_id)
    assert events[1][1]["student_id"] == str(student.id)
    # A practice quiz never blocks graded_quizzes_passed.
    assert practice.id


def test_graded_quizzes_passed_ignores_drafts_and_other_students(
    instructor: Any, student: Any, make_user: Any
) -> None:
    course = make_course(instructor)
    enrollment_id = enroll(student, course)
    with session_scope() as db:
        assert graded_quizzes_passed(db, enrollment_id=enrollment_id, course_id=course.id) is True
    make_quiz(course, quiz_type="graded", published=False)
    with session_scope() as db:
        assert graded_quizzes_passed(db, enrollment_id=enrollment_id, course_id=course.id) is True
    graded = make_quiz(course, quiz_type="graded")
    other_enrollment = enroll(make_user(role="student"), course)
    with session_scope() as db:
        db.add(
            QuizAttempt(
                quiz_id=graded.id,
                enrollment_id=other_enrollment,
                user_id=db.scalar(select(QuizAttempt.user_id).limit(1)) or student.id,
                attempt_number=1,
                status="graded",
                is_passed=True,
            )
        )
    with session_scope() as db:
        assert graded_quizzes_passed(db, enrollment_id=enrollment_id, course_id=course.id) is False
