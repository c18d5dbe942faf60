"""Lessons: outline and content visibility, slugs, editing, deletion and reordering."""

from __future__ import annotations

from typing import Any

import pytest

from tests.modules.courses.factories import create_course, create_enrollment

API = "/api/v1"


@pytest.fixture
def course(instructor: Any) -> Any:
    return create_course(instructor, lessons=3, preview_lessons=1)


def test_outline_hides_content_from_visitors(
    client: Any, course: Any, student: Any, auth_headers: Any
) -> None:
    anonymous: dict[str, str] = {}
    for headers in (anonymous, auth_headers(student)):
        outline = client.get(f"{API}/courses/{course.id}/lessons", headers=headers).json()
        assert [lesson["title"] for lesson in outline] == ["Lesson 1", "Lesson 2", "Lesson 3"]
        assert [lesson["content_available"] for lesson in outline] == [True, False, False]
        assert outline[0]["content"] == "Content of lesson 1"
        assert outline[1]["content"] is None and outline[1]["duration_minutes"] == 10


def test_non_enrolled_student_cannot_read_lesson_content(
    client: Any, course: Any, student: Any, auth_headers: Any
) -> None:
    headers = auth_headers(student)
    preview = client.get(f"{API}/lessons/{course.lesson_ids[0]}", headers=headers)
    assert preview.status_code == 200 and preview.json()["content"] == "Content of lesson 1"
    locked = client.get(f"{API}/lessons/{course.lesson_ids[1]}", headers=headers)
    assert locked.status_code == 403
    assert locked.json()["code"] == "enrollment_required"
    assert client.get(f"{API}/lessons/{course.lesson_ids[1]}").status_code == 403


def test_enrolled_student_reads_content_until_dropped(
    client: Any, course: Any, student: Any, auth_headers: Any
) -> None:
    create_enrollment(student, course)
    headers = auth_headers(student)
    response = client.get(f"{API}/lessons/{course.lesson_ids[1]}", headers=headers)
    assert response.status_code == 200
    assert response.json()["content"] == "Content of lesson 2"
    outline = client.get(f"{API}/courses/{course.id}/lessons", headers=headers).json()
    assert all(lesson["content_available"] for lesson in outline)


def test_dropped_student_loses_content(
    client: Any, instructor: Any, student: Any, auth_headers: Any
) -> None:
    course = create_course(instructor, lessons=2)
    create_enrollment(student, course, status="dropped")
    response = client.get(f"{API}/lessons/{course.lesson_ids[1]}", headers=auth_headers(student))
    assert response.status_code == 403


def test_owner_and_admin_see_unpublished_lessons(
    client: Any, course: Any, instructor: Any, admin: Any, student: Any, auth_headers: Any
) -> None:
    created = client.post(
        f"{API}/courses/{course.id}/lessons",
        json={"title": "Work in progress", "content": "secret"},
        headers=auth_headers(instructor),
    )
    assert created.status_code == 201
    draft_id = created.json()["id"]
    assert created.json()["order_index"] == 3
    for viewer in (instructor, admin):
        outline = client.get(f"{API}/courses/{course.id}/lessons", headers=auth_headers(viewer))
        assert len(outline.json()) == 4
        assert (
            client.get(f"{API}/lessons/{draft_id}", headers=auth_headers(viewer)).status_code == 200
        )
    create_enrollment(student, course)
    assert (
        len(client.get(f"{API}/courses/{course.id}/lessons", headers=auth_headers(student)).json())
        == 3
    )
    assert client.get(f"{API}/lessons/{draft_id}", headers=auth_headers(student)).status_code == 404


def test_lesson_slugs_unique_within_course(client: Any, instructor: Any, auth_headers: Any) -> None:
    headers = auth_headers(instructor)
    first = create_course(instructor, lessons=0)
    second = create_course(instructor, lessons=0)
    slugs = [
        client.post(
            f"{API}/courses/{first.id}/lessons", json={"title": "Setup"}, headers=headers
        ).json()["slug"]
        for _ in range(2)
    ]
    other = client.post(
        f"{API}/courses/{second.id}/lessons", json={"title": "Setup"}, headers=headers
    )
    assert slugs == ["setup", "setup-2"]
    assert other.json()["slug"] == "setup"


def test_update_lesson(client: Any, course: Any, instructor: Any, auth_headers: Any) -> None:
    response = client.patch(
        f"{API}/lessons/{course.lesson_ids[1]}",
        json={"title": "Renamed", "lesson_type": "video", "video_url": "https://v.example/1"},
        headers=auth_headers(instructor),
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["title"], body["lesson_type"], body["slug"]) == ("Renamed", "video", "lesson-2")
    bad = client.patch(
        f"{API}/lessons/{course.lesson_ids[1]}",
        json={"lesson_type": "podcast"},
        headers=auth_headers(instructor),
    )
    assert bad.status_code == 422


def test_delete_lesson_keeps_order_dense(
    client: Any, course: Any, instructor: Any, auth_headers: Any
) -> None:
    headers = auth_headers(instructor)
    assert (
        client.delete(f"{API}/lessons/{course.lesson_ids[0]}", headers=headers).status_code == 204
    )
    outline = client.get(f"{API}/courses/{course.id}/lessons", headers=headers).json()
    assert [(lesson["title"], lesson["order_index"]) for lesson in outline] == [
        ("Lesson 2", 0),
        ("Lesson 3", 1),
    ]
    assert client.get(f"{API}/lessons/{course.lesson_ids[0]}", headers=headers).status_code == 404


def _order(client: Any, course: Any, headers: dict[str, str]) -> list[str]:
    outline = client.get(f"{API}/courses/{course.id}/lessons", headers=headers).json()
    assert [lesson["order_index"] for lesson in outline] == list(range(len(outline)))
    return [lesson["id"] for lesson in outline]


def test_reorder_lessons(client: Any, course: Any, instructor: Any, auth_headers: Any) -> None:
    headers = auth_headers(instructor)
    wanted = [str(course.lesson_ids[2]), str(course.lesson_ids[0]), str(course.lesson_ids[1])]
    response = client.put(
        f"{API}/courses/{course.id}/lessons/order", json={"lesson_ids": wanted}, headers=headers
    )
    assert response.status_code == 200
    assert [lesson["id"] for lesson in response.json()] == wanted
    assert _order(client, course, headers) == wanted


@pytest.mark.parametrize("case", ["missing", "duplicate", "foreign", "unknown", "empty"])
def test_reorder_is_atomic_on_bad_lists(
    client: Any, course: Any, instructor: Any, auth_headers: Any, case: str
) -> None:
    headers = auth_headers(instructor)
    before = _order(client, course, headers)
    other = create_course(instructor, lessons=1)
    ids = [str(i) for i in reversed(course.lesson_ids)]
    lists = {
        "missing": ids[:2],
        "duplicate": [ids[0], ids[0], ids[1]],
        "foreign": [ids[0], ids[1], str(other.lesson_ids[0])],
        "unknown": [ids[0], ids[1], "00000000-0000-0000-0000-000000000000"],
        "empty": [],
    }
    response = client.put(
        f"{API}/courses/{course.id}/lessons/order",
        json={"lesson_ids": lists[case]},
        headers=headers,
    )
    assert response.status_code == 422
    assert _order(client, course, headers) == before
