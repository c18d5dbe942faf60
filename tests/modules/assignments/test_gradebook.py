"""Gradebook values, CSV export, a student's grades, and who may see them."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.modules.assignments.factories import (
    make_assignment,
    make_graded_attempt,
    make_submission,
)
from tests.modules.quizzes.factories import (
    STANDARD_QUESTIONS,
    CourseData,
    enroll,
    make_course,
    make_quiz,
)

STANDARD_POINTS = sum(question.get("points", 1) for question in STANDARD_QUESTIONS)

H = Callable[[Any], dict[str, str]]


@dataclass
class Book:
    course: CourseData
    quiz_id: Any
    assignment_id: Any
    alice_enrollment: Any
    bob_enrollment: Any


@pytest.fixture
def book(instructor: Any, make_user: Any) -> Book:
    course = make_course(instructor)
    alice = make_user(role="student", full_name="Alice Able", email="alice@example.com")
    bob = make_user(role="student", full_name="=Aaron(1)", email="bob@example.com")
    alice_enrollment = enroll(alice, course)
    bob_enrollment = enroll(bob, course)
    graded = make_quiz(course, quiz_type="graded", title="Midterm")
    practice = make_quiz(course, title="Practice")
    make_quiz(course, quiz_type="graded", published=False, title="Draft")
    essay = make_assignment(course, title="Essay", max_points=50)
    make_assignment(course, title="Hidden", published=False)
    # Alice: two graded attempts (best is 4/5) and one on the practice quiz; a late essay
    # graded 40/50 with a 10% penalty (36).
    make_graded_attempt(graded.id, alice_enrollment, alice, number=1, score="2", max_score="5")
    make_graded_attempt(graded.id, alice_enrollment, alice, number=2, score="4", max_score="5")
    make_graded_attempt(practice.id, alice_enrollment, alice, number=1, score="5", max_score="5")
    make_submission(
        essay,
        alice_enrollment,
        alice,
        status="graded",
        is_late=True,
        late_penalty_percent=10,
        grade=40,
        final_grade=36,
    )
    # Bob: an ungraded submission only.
    make_submission(essay, bob_enrollment, bob)
    return Book(course, graded.id, essay, alice_enrollment, bob_enrollment)


def test_gradebook_values(client: TestClient, instructor: Any, auth_headers: H, book: Book) -> None:
    response = client.get(
        f"/api/v1/courses/{book.course.id}/gradebook", headers=auth_headers(instructor)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(c["kind"], c["title"]) for c in body["columns"]] == [
        ("quiz", "Midterm"),
        ("assignment", "Essay"),
    ]
    assert body["columns"][1]["max_points"] == "50.00"
    # The quiz column is worth its questions' points (the factory's standard questions).
    assert body["columns"][0]["max_points"] == f"{STANDARD_POINTS:.2f}"
    assert body["total"] == 2 and body["pages"] == 1
    bob, alice = body["items"]  # ordered by name: "=Aaron(1)" sorts before "Alice Able"
    assert alice["student_name"] == "Alice Able"
    assert alice["grades"] == [
        {"score": "4.00", "max_score": "5.00", "percentage": "80.00"},
        {"score": "36.00", "max_score": "50.00", "percentage": "72.00"},
    ]
    # (4 + 36) / (5 + 50) = 72.73 %
    assert alice["course_grade"] == "72.73"
    assert bob["grades"] == [None, None] and bob["course_grade"] is None
    assert bob["enrollment_id"] == str(book.bob_enrollment)


def test_a_late_quiz_attempt_counts_after_its_penalty(
    client: TestClient, instructor: Any, make_user: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    carol = make_user(role="student", full_name="Carol", email="carol@example.com")
    enrollment = enroll(carol, course)
    quiz = make_quiz(course, quiz_type="graded", title="Final")
    make_graded_attempt(quiz.id, enrollment, carol, number=1, score="3", max_score="5")
    # 5/5 raw but 50% off: 2.50 counts, so the on-time 3/5 is the best attempt.
    make_graded_attempt(
        quiz.id, enrollment, carol, number=2, score="5", max_score="5", late_penalty_percent="50"
    )
    body = client.get(
        f"/api/v1/courses/{course.id}/gradebook", headers=auth_headers(instructor)
    ).json()
    assert body["items"][0]["grades"] == [
        {"score": "3.00", "max_score": "5.00", "percentage": "60.00"}
    ]
    make_graded_attempt(
        quiz.id, enrollment, carol, number=3, score="5", max_score="5", late_penalty_percent="10"
    )
    body = client.get(
        f"/api/v1/courses/{course.id}/gradebook", headers=auth_headers(instructor)
    ).json()
    assert body["items"][0]["grades"] == [
        {"score": "4.50", "max_score": "5.00", "percentage": "90.00"}
    ]


def test_gradebook_is_paginated(
    client: TestClient, instructor: Any, auth_headers: H, book: Book
) -> None:
    page = client.get(
        f"/api/v1/courses/{book.course.id}/gradebook",
        params={"page": 2, "page_size": 1},
        headers=auth_headers(instructor),
    ).json()
    assert page["total"] == 2 and page["pages"] == 2
    assert [row["student_name"] for row in page["items"]] == ["Alice Able"]
    assert page["items"][0]["course_grade"] == "72.73"


@pytest.mark.parametrize(
    ("page", "page_size", "names", "pages"),
    [
        (1, 3, ["=Aaron(1)", "Alice Able"], 1),  # one partial page
        (2, 3, [], 1),  # beyond the end: no rows, same total
        (5, 1, [], 2),
    ],
)
def test_gradebook_paging_edges(
    client: TestClient,
    instructor: Any,
    auth_headers: H,
    book: Book,
    page: int,
    page_size: int,
    names: list[str],
    pages: int,
) -> None:
    body = client.get(
        f"/api/v1/courses/{book.course.id}/gradebook",
        params={"page": page, "page_size": page_size},
        headers=auth_headers(instructor),
    ).json()
    assert [row["student_name"] for row in body["items"]] == names
    assert (body["total"], body["page"], body["page_size"], body["pages"]) == (
        2,
        page,
        page_size,
        pages,
    )
    assert [column["title"] for column in body["columns"]] == ["Midterm", "Essay"]


def test_gradebook_csv(client: TestClient, instructor: Any, auth_headers: H, book: Book) -> None:
    response = client.get(
        f"/api/v1/courses/{book.course.id}/gradebook",
        params={"format": "csv"},
        headers=auth_headers(instructor),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == [
        "student_name",
        "student_email",
        "enrollment_status",
        "Midterm (quiz, %)",
        "Essay (assignment, %)",
        "course_grade (%)",
    ]
    # A name that looks like a formula is neutralised.
    assert rows[1] == ["'=Aaron(1)", "bob@example.com", "active", "", "", ""]
    assert rows[2] == ["Alice Able", "alice@example.com", "active", "80.00", "72.00", "72.73"]
    assert len(rows) == 3


def test_gradebook_is_for_the_owner_and_admins_only(
    client: TestClient,
    instructor: Any,
    admin: Any,
    make_user: Any,
    auth_headers: H,
    book: Book,
) -> None:
    url = f"/api/v1/courses/{book.course.id}/gradebook"
    other = auth_headers(make_user(role="instructor"))
    assert client.get(url, headers=other).status_code == 403
    assert client.get(url, params={"format": "csv"}, headers=other).status_code == 403
    student = auth_headers(make_user(role="student"))
    assert client.get(url, headers=student).status_code == 403
    assert client.get(url, headers=auth_headers(admin)).status_code == 200


def test_a_student_sees_their_own_grades_only(
    client: TestClient, instructor: Any, make_user: Any, auth_headers: H, book: Book
) -> None:
    from app.core.database import session_scope
    from app.modules.users.models import User

    with session_scope() as db:
        alice = db.query(User).filter_by(email="alice@example.com").one()
        bob = db.query(User).filter_by(email="bob@example.com").one()
        db.expunge_all()
    url = f"/api/v1/enrollments/{book.alice_enrollment}/grades"
    own = client.get(url, headers=auth_headers(alice))
    assert own.status_code == 200
    body = own.json()
    assert body["course_grade"] == "72.73"
    assert [(item["title"], item["grade"]["percentage"]) for item in body["items"]] == [
        ("Midterm", "80.00"),
        ("Essay", "72.00"),
    ]
    assert client.get(url, headers=auth_headers(bob)).status_code == 404
    other_instructor = auth_headers(make_user(role="instructor"))
    assert client.get(url, headers=other_instructor).status_code == 404
    assert client.get(url, headers=auth_headers(instructor)).status_code == 200
    bob_view = client.get(
        f"/api/v1/enrollments/{book.bob_enrollment}/grades", headers=auth_headers(bob)
    ).json()
    assert [item["grade"] for item in bob_view["items"]] == [None, None]
    assert bob_view["course_grade"] is None
