"""Quizzes and assignments follow the lessons' access rule (`courses.access.course_access`):
the instructor and admins read all, enrolled students the published items, a visitor the
previews only, and nobody a course outside the catalogue."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.database import session_scope
from app.modules.courses.models import Lesson
from tests.modules.assignments.factories import make_assignment
from tests.modules.quizzes.factories import CourseData, enroll, make_course, make_quiz

API = "/api/v1"


def _make_preview(lesson_id: uuid.UUID) -> None:
    with session_scope() as session:
        lesson = session.get(Lesson, lesson_id)
        assert lesson is not None
        lesson.is_preview = True


class Items:
    def __init__(self, course: CourseData) -> None:
        self.course = course
        # One lesson that is a preview, one that is not; an item on each and one on none.
        _make_preview(course.lesson_ids[0])
        self.quizzes = {
            "preview": make_quiz(course, lesson_id=course.lesson_ids[0]).id,
            "lesson": make_quiz(course, lesson_id=course.lesson_ids[1]).id,
            "course": make_quiz(course).id,
        }
        self.assignments = {
            "preview": make_assignment(course, lesson_id=course.lesson_ids[0]),
            "lesson": make_assignment(course, lesson_id=course.lesson_ids[1]),
            "course": make_assignment(course),
        }

    def quiz_url(self, key: str) -> str:
        return f"{API}/courses/{self.course.id}/quizzes/{self.quizzes[key]}"

    def assignment_url(self, key: str) -> str:
        return f"{API}/assignments/{self.assignments[key]}"

    def lists(self, client: TestClient, headers: dict[str, str]) -> tuple[Any, Any]:
        quizzes = client.get(f"{API}/courses/{self.course.id}/quizzes", headers=headers)
        assignments = client.get(
            f"{API}/assignments", params={"course_id": str(self.course.id)}, headers=headers
        )
        return quizzes, assignments


@pytest.fixture
def items(instructor: Any) -> Items:
    return Items(make_course(instructor, lesson_types=("text", "text")))


def _ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


@pytest.mark.parametrize("who", ["student", "other_instructor"])
def test_a_viewer_not_enrolled_reads_previews_only(
    client: TestClient,
    items: Items,
    make_user: Any,
    student: Any,
    auth_headers: Any,
    who: str,
) -> None:
    viewer = student if who == "student" else make_user(role="instructor")
    headers = auth_headers(viewer)
    # The lesson itself answers 403: so do its quiz and its assignment.
    lesson = client.get(f"{API}/lessons/{items.course.lesson_ids[1]}", headers=headers)
    assert lesson.status_code == 403
    for key in ("lesson", "course"):
        for url in (items.quiz_url(key), items.assignment_url(key)):
            response = client.get(url, headers=headers)
            assert response.status_code == 403, (url, response.text)
            assert response.json()["code"] == "enrollment_required"
            assert "instructions" not in response.text
    for url in (items.quiz_url("preview"), items.assignment_url("preview")):
        assert client.get(url, headers=headers).status_code == 200
    quizzes, assignments = items.lists(client, headers)
    assert _ids(quizzes) == {str(items.quizzes["preview"])}
    assert _ids(assignments) == {str(items.assignments["preview"])}
    assert quizzes.json()["total"] == 1


def test_anonymous_reads_nothing(client: TestClient, items: Items) -> None:
    for url in (items.quiz_url("preview"), items.assignment_url("lesson")):
        assert client.get(url).status_code == 401
    quizzes, assignments = items.lists(client, {})
    assert (quizzes.status_code, assignments.status_code) == (401, 401)


def test_enrolled_students_the_instructor_and_admins_read_every_item(
    client: TestClient, items: Items, student: Any, instructor: Any, admin: Any, auth_headers: Any
) -> None:
    enroll(student, items.course)
    for viewer in (student, instructor, admin):
        headers = auth_headers(viewer)
        for key in items.quizzes:
            assert client.get(items.quiz_url(key), headers=headers).status_code == 200
            assert client.get(items.assignment_url(key), headers=headers).status_code == 200
        quizzes, assignments = items.lists(client, headers)
        assert _ids(quizzes) == {str(i) for i in items.quizzes.values()}
        assert _ids(assignments) == {str(i) for i in items.assignments.values()}


def test_a_dropped_student_is_a_visitor_again(
    client: TestClient, items: Items, student: Any, auth_headers: Any
) -> None:
    enroll(student, items.course, status="dropped")
    headers = auth_headers(student)
    assert client.get(items.assignment_url("course"), headers=headers).status_code == 403
    assert client.get(items.quiz_url("lesson"), headers=headers).status_code == 403


def test_a_course_outside_the_catalogue_shows_nothing_to_visitors(
    client: TestClient, instructor: Any, student: Any, auth_headers: Any
) -> None:
    draft = Items(make_course(instructor, lesson_types=("text", "text"), published=False))
    headers = auth_headers(student)
    for url in (draft.quiz_url("preview"), draft.assignment_url("preview")):
        assert client.get(url, headers=headers).status_code == 404
    quizzes, assignments = draft.lists(client, headers)
    assert (quizzes.status_code, assignments.status_code) == (404, 404)
