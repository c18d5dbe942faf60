"""What a student sees of a course's structure, through every route that lists, shows or
finds its items: nothing of an unpublished section or an unpublished item, and a locked
item's title and state but never its content."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from app.core.database import session_scope
from app.modules.courses.models import Lesson
from tests.modules.assignments.factories import make_assignment
from tests.modules.courses.factories import create_course, create_enrollment
from tests.modules.courses.structure import (
    NOW,
    entry,
    lesson_entry,
    section_of,
    sections_url,
    set_items,
)
from tests.modules.quizzes.factories import make_quiz

H = Callable[[Any], dict[str, str]]
API = "/api/v1"
SECRET = "Hidden-chapter-zebra"


class Course:
    """An open, a locked and a hidden (unpublished section) lesson, quiz and assignment,
    and an unpublished lesson in the published section."""

    def __init__(self, client: TestClient, instructor: Any, student: Any, auth_headers: H):
        seeded = create_course(instructor, lessons=4)
        self.id = seeded.id
        self.section = section_of(seeded.id)
        self.enrollment = create_enrollment(student, seeded, enrolled_at=NOW)
        self.lessons = dict(
            zip(("open", "locked", "hidden", "draft"), seeded.lesson_ids, strict=True)
        )
        with session_scope() as db:
            hidden = db.get(Lesson, self.lessons["hidden"])
            draft = db.get(Lesson, self.lessons["draft"])
            assert hidden is not None and draft is not None
            hidden.title = f"{SECRET} lesson"
            draft.is_published = False
        self.quizzes = {
            key: make_quiz(seeded, title=f"{key} quiz", description=f"{key} quiz text").id
            for key in ("open", "locked", "hidden")
        }
        self.assignments = {
            key: make_assignment(seeded, title=f"{key} essay", instructions=f"{key} essay text")
            for key in ("open", "locked", "hidden")
        }
        h = auth_headers(instructor)
        later = {"available_from": (NOW + timedelta(days=5)).isoformat()}
        shown = [
            lesson_entry(self.lessons["open"]),
            lesson_entry(self.lessons["locked"], **later),
            lesson_entry(self.lessons["draft"]),
            entry("quiz", self.quizzes["open"]),
            entry("quiz", self.quizzes["locked"], **later),
            entry("assignment", self.assignments["open"]),
            entry("assignment", self.assignments["locked"], **later),
        ]
        self.hidden_section = client.post(
            sections_url(seeded), json={"title": f"{SECRET} week", "is_published": False}, headers=h
        ).json()["id"]
        # The hidden items move out first: every item of a section is listed when it is set.
        hidden_items = [
            lesson_entry(self.lessons["hidden"]),
            entry("quiz", self.quizzes["hidden"]),
            entry("assignment", self.assignments["hidden"]),
        ]
        answer = set_items(client, seeded, uuid.UUID(self.hidden_section), hidden_items, h)
        assert answer.status_code == 200, answer.text
        answer = set_items(client, seeded, self.section, shown, h)
        assert answer.status_code == 200, answer.text

    def ids(self, *keys: str) -> set[str]:
        return {
            str(group[key])
            for group in (self.lessons, self.quizzes, self.assignments)
            for key in keys
            if key in group
        }


def _listed(response: Any) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json()
    items = body["items"] if isinstance(body, dict) else body
    return {item["id"]: item for item in items}


def test_a_student_sees_no_hidden_item_and_no_locked_content_anywhere(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any
) -> None:
    course = Course(client, instructor, student, auth_headers)
    me = auth_headers(student)

    # The structure: published sections and published items only.
    structure = client.get(f"{API}/courses/{course.id}/sections", headers=me).json()
    assert [section["id"] for section in structure] == [str(course.section)]
    listed = {item["id"] for item in structure[0]["items"]}
    assert listed == course.ids("open", "locked")
    hidden = client.get(f"{API}/courses/{course.id}/sections/{course.hidden_section}", headers=me)
    assert hidden.status_code == 404

    # Lists: hidden items left out, locked ones without content.
    lessons = _listed(client.get(f"{API}/courses/{course.id}/lessons", headers=me))
    assert set(lessons) == {str(course.lessons["open"]), str(course.lessons["locked"])}
    assert lessons[str(course.lessons["open"])]["content"] is not None
    locked_lesson = lessons[str(course.lessons["locked"])]
    assert (locked_lesson["content"], locked_lesson["content_available"]) == (None, False)
    quizzes = _listed(client.get(f"{API}/courses/{course.id}/quizzes", headers=me))
    assert set(quizzes) == {str(course.quizzes["open"]), str(course.quizzes["locked"])}
    assert quizzes[str(course.quizzes["open"])]["description"] == "open quiz text"
    assert quizzes[str(course.quizzes["locked"])]["description"] is None
    assignments = _listed(
        client.get(f"{API}/assignments", params={"course_id": str(course.id)}, headers=me)
    )
    assert set(assignments) == {str(course.assignments["open"]), str(course.assignments["locked"])}
    assert assignments[str(course.assignments["open"])]["instructions"] == "open essay text"
    assert assignments[str(course.assignments["locked"])]["instructions"] is None

    # Details: hidden ones do not exist, locked ones answer item_locked.
    details = {
        "lesson": lambda key: f"{API}/lessons/{course.lessons[key]}",
        "quiz": lambda key: f"{API}/courses/{course.id}/quizzes/{course.quizzes[key]}",
        "assignment": lambda key: f"{API}/assignments/{course.assignments[key]}",
    }
    for kind, url in details.items():
        assert client.get(url("open"), headers=me).status_code == 200, kind
        locked = client.get(url("locked"), headers=me)
        assert locked.status_code == 403, kind
        assert locked.json()["code"] == "item_locked"
        assert "text" not in locked.text
        assert client.get(url("hidden"), headers=me).status_code == 404, kind
    assert client.get(details["lesson"]("draft"), headers=me).status_code == 404
    # Before an attempt: a hidden quiz does not exist, a locked one says why.
    starts = {key: f"{API}/quizzes/{course.quizzes[key]}/attempts/start" for key in course.quizzes}
    assert client.get(starts["open"], headers=me).json()["can_start"] is True
    assert client.get(starts["locked"], headers=me).json()["code"] == "item_locked"
    assert client.get(starts["hidden"], headers=me).status_code == 404

    # Grades: the student's own list leaves out ungraded work of the hidden section.
    grades_url = f"{API}/enrollments/{course.enrollment}/grades"
    graded = {item["id"] for item in client.get(grades_url, headers=me).json()["items"]}
    assert graded == {str(course.assignments[key]) for key in ("open", "locked")}

    # The outline: the same items, locked ones with their reasons and no content.
    outline = client.get(f"{API}/courses/{course.id}/outline", headers=me)
    assert outline.status_code == 200, outline.text
    sections = outline.json()["sections"]
    assert len(sections) == 1
    states = {item["id"]: item["state"] for item in sections[0]["items"]}
    assert set(states) == course.ids("open", "locked")
    assert {states[i] for i in course.ids("locked")} == {"locked"}
    assert SECRET not in outline.text and "text" not in outline.text

    # Search finds the course by its own title, never by a hidden item's.
    found = client.get(f"{API}/courses", params={"search": SECRET}, headers=me)
    assert found.status_code == 200 and found.json()["total"] == 0

    # The course's instructor sees everything.
    teacher = auth_headers(instructor)
    everything = client.get(f"{API}/courses/{course.id}/sections", headers=teacher).json()
    assert len(everything) == 2
    assert client.get(details["quiz"]("hidden"), headers=teacher).status_code == 200
    as_graded = client.get(grades_url, headers=teacher).json()["items"]
    assert str(course.assignments["hidden"]) in {item["id"] for item in as_graded}
