"""Each path that serves a quiz or an assignment holds the release rule: starting an attempt,
saving and submitting answers, submitting an assignment answer 403 `item_locked` with the
reasons (and the unlock date) while locked, and work again exactly when the item opens or
until it closes (clock set by the test)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from app.core.database import session_scope
from app.modules.assignments.models import Submission
from app.modules.courses.models import SectionItem
from app.modules.quizzes.models import QuizAttempt
from tests.modules.assignments.factories import make_assignment
from tests.modules.courses.factories import create_course, create_enrollment
from tests.modules.courses.structure import (
    NOW,
    entry,
    join_new_cohort,
    lesson_entry,
    section_of,
    sections_url,
    set_items,
)
from tests.modules.quizzes.factories import ALL_RIGHT, answers_payload, make_quiz

H = Callable[[Any], dict[str, str]]


def _locked(answer: Any, *reasons: str) -> dict[str, Any]:
    assert answer.status_code == 403, answer.text
    body: dict[str, Any] = answer.json()
    assert body["code"] == "item_locked"
    assert [reason["reason"] for reason in body["reasons"]] == list(reasons)
    return body


def _same_moment(text: str | None, moment: datetime) -> bool:
    return text is not None and datetime.fromisoformat(text) == moment


def test_a_quiz_cannot_be_started_before_it_opens_nor_answered_once_closed(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any
) -> None:
    course = create_course(instructor, lessons=1)
    create_enrollment(student, course, enrolled_at=NOW)
    quiz = make_quiz(course)
    opens, closes = NOW + timedelta(days=1), NOW + timedelta(days=3)
    window = {"available_from": opens.isoformat(), "available_until": closes.isoformat()}
    items = [lesson_entry(course.lesson_ids[0]), entry("quiz", quiz.id, **window)]
    h = auth_headers(instructor)
    assert set_items(client, course, section_of(course.id), items, h).status_code == 200
    url = f"/api/v1/quizzes/{quiz.id}/attempts"
    me = auth_headers(student)

    body = _locked(client.post(url, headers=me), "not_yet_available")
    assert _same_moment(body["unlock_at"], opens)
    assert _same_moment(body["reasons"][0]["unlock_at"], opens)
    clock(opens - timedelta(seconds=1))
    _locked(client.post(url, headers=me), "not_yet_available")

    clock(opens)
    started = client.post(url, headers=me)
    assert started.status_code == 201, started.text
    attempt = f"{url}/{started.json()['id']}"
    answers = answers_payload(quiz, {0: "b"})
    assert client.put(f"{attempt}/answers", json=answers, headers=me).status_code == 200

    clock(closes)
    body = _locked(client.put(f"{attempt}/answers", json=answers, headers=me), "closed")
    assert body["unlock_at"] is None
    _locked(client.post(f"{attempt}/submit", json=answers, headers=me), "closed")
    with session_scope() as db:
        row = db.get(QuizAttempt, uuid.UUID(started.json()["id"]))
        assert row is not None and row.submitted_at is None
    # The instructor's preview is never locked.
    assert client.post(url, headers=h).status_code in (200, 201)


def test_an_assignment_opens_days_after_the_enrollment_or_the_cohort_start_and_closes(
    client: TestClient,
    instructor: Any,
    student: Any,
    make_user: Any,
    auth_headers: H,
    clock: Any,
) -> None:
    classmate = make_user(role="student", email="cohort-member@example.com")
    course = create_course(instructor, lessons=1)
    create_enrollment(student, course, enrolled_at=NOW)
    create_enrollment(classmate, course, enrolled_at=NOW)
    join_new_cohort(course, classmate, name="Autumn", starts_at=NOW + timedelta(days=10))
    assignment = make_assignment(course)
    closes = NOW + timedelta(days=30)
    rule = {"release_after_days": 5, "available_until": closes.isoformat()}
    items = [lesson_entry(course.lesson_ids[0]), entry("assignment", assignment, **rule)]
    h = auth_headers(instructor)
    assert set_items(client, course, section_of(course.id), items, h).status_code == 200
    url = f"/api/v1/assignments/{assignment}/submissions"

    def submit(who: Any) -> Any:
        return client.post(url, json={"content": "My essay"}, headers=auth_headers(who))

    body = _locked(submit(student), "not_yet_available")
    assert _same_moment(body["unlock_at"], NOW + timedelta(days=5))
    clock(NOW + timedelta(days=5) - timedelta(seconds=1))
    _locked(submit(student), "not_yet_available")

    clock(NOW + timedelta(days=5))
    assert submit(student).status_code == 201
    # The cohort member counts from the cohort's start: 10 + 5 days.
    body = _locked(submit(classmate), "not_yet_available")
    assert _same_moment(body["unlock_at"], NOW + timedelta(days=15))
    clock(NOW + timedelta(days=15))
    assert submit(classmate).status_code == 201

    clock(closes)
    _locked(submit(student), "closed")
    with session_scope() as db:
        assert db.query(Submission).filter_by(assignment_id=assignment).count() == 2


def test_a_prerequisite_quiz_must_be_passed_with_the_minimum_score(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any
) -> None:
    course = create_course(instructor, lessons=1)
    create_enrollment(student, course, enrolled_at=NOW)
    quiz = make_quiz(course, passing_score=50)
    [lesson] = course.lesson_ids
    needs = {"prerequisites": [{"kind": "quiz", "id": str(quiz.id), "min_score_percent": "80"}]}
    items = [entry("quiz", quiz.id), lesson_entry(lesson, **needs)]
    h = auth_headers(instructor)
    assert set_items(client, course, section_of(course.id), items, h).status_code == 200
    me = auth_headers(student)
    lesson_url = f"/api/v1/lessons/{lesson}"

    def take(answers: dict[int, Any]) -> dict[str, Any]:
        started = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=me)
        assert started.status_code == 201, started.text
        submitted = client.post(
            f"/api/v1/quizzes/{quiz.id}/attempts/{started.json()['id']}/submit",
            json=answers_payload(quiz, answers),
            headers=me,
        )
        assert submitted.status_code == 200, submitted.text
        return dict(submitted.json())

    body = _locked(client.get(lesson_url, headers=me), "prerequisite")
    [missing] = body["reasons"][0]["missing"]
    assert missing["min_score_percent"] == "80.00"
    # 3 of 5 points: the quiz is passed (50%), but below the 80% the lesson asks.
    passed_low = take({0: "b", 2: True, 3: "paris"})
    assert passed_low["is_passed"] is True
    _locked(client.get(lesson_url, headers=me), "prerequisite")

    assert take(ALL_RIGHT)["is_passed"] is True
    assert client.get(lesson_url, headers=me).status_code == 200


def test_moving_an_item_to_another_section_takes_it_out_of_its_section(
    client: TestClient, instructor: Any, auth_headers: H
) -> None:
    course = create_course(instructor, lessons=3)
    h = auth_headers(instructor)
    source = section_of(course.id)
    target = client.post(sections_url(course), json={"title": "Week 2"}, headers=h).json()["id"]
    first, second, third = course.lesson_ids

    moved = set_items(client, course, uuid.UUID(target), [lesson_entry(second)], h)
    assert moved.status_code == 200, moved.text
    assert [item["id"] for item in moved.json()["items"]] == [str(second)]
    left = client.get(f"{sections_url(course)}/{source}", headers=h).json()
    assert [item["id"] for item in left["items"]] == [str(first), str(third)]
    # The source section closes the gap.
    assert [item["position"] for item in left["items"]] == [0, 1]
    with session_scope() as db:
        rows = db.query(SectionItem).filter_by(lesson_id=second).all()
        assert [row.section_id for row in rows] == [uuid.UUID(target)]
