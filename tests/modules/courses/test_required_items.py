"""Only required items count toward a course's completion, and my-courses points each
learner at their next open item under the same release rule as every content path."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.modules.courses.factories import create_course, create_enrollment
from tests.modules.courses.structure import NOW, lesson_entry, section_of, sections_url, set_items

H = Callable[[Any], dict[str, str]]


def _enrollment(client: TestClient, enrollment_id: Any, headers: dict[str, str]) -> Any:
    answer = client.get(f"/api/v1/enrollments/{enrollment_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _catalogue_lesson_count(client: TestClient, course: Any) -> int:
    answer = client.get(f"/api/v1/courses/{course.id}")
    assert answer.status_code == 200, answer.text
    return int(answer.json()["lesson_count"])


def test_an_optional_lesson_does_not_hold_back_completion(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any
) -> None:
    course = create_course(instructor, lessons=2)
    enrollment_id = create_enrollment(student, course, enrolled_at=NOW)
    section = section_of(course.id)
    required, optional = course.lesson_ids
    items = [lesson_entry(required), lesson_entry(optional, is_required=False)]
    answer = set_items(client, course, section, items, auth_headers(instructor))
    assert answer.status_code == 200, answer.text
    assert _enrollment(client, enrollment_id, auth_headers(student))["total_lessons_count"] == 1

    url = f"/api/v1/enrollments/{enrollment_id}/lessons/{required}/complete"
    assert client.post(url, headers=auth_headers(student)).status_code == 200
    done = _enrollment(client, enrollment_id, auth_headers(student))
    assert float(done["progress_percentage"]) == 100.0
    assert done["status"] == "completed"


def test_making_a_lesson_required_recounts_every_learner(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any
) -> None:
    course = create_course(instructor, lessons=2)
    enrollment_id = create_enrollment(student, course, enrolled_at=NOW)
    section = section_of(course.id)
    first, second = course.lesson_ids
    url = f"/api/v1/enrollments/{enrollment_id}/lessons/{first}/complete"
    assert client.post(url, headers=auth_headers(student)).status_code == 200
    before = _enrollment(client, enrollment_id, auth_headers(student))
    assert float(before["progress_percentage"]) == 50.0

    items = [lesson_entry(first), lesson_entry(second, is_required=False)]
    assert set_items(client, course, section, items, auth_headers(instructor)).status_code == 200
    optional = _enrollment(client, enrollment_id, auth_headers(student))
    assert (optional["total_lessons_count"], float(optional["progress_percentage"])) == (1, 100.0)

    items = [lesson_entry(first), lesson_entry(second)]
    assert set_items(client, course, section, items, auth_headers(instructor)).status_code == 200
    required = _enrollment(client, enrollment_id, auth_headers(student))
    assert (required["total_lessons_count"], float(required["progress_percentage"])) == (2, 50.0)


def test_my_courses_points_at_the_next_open_item(
    client: TestClient,
    instructor: Any,
    student: Any,
    auth_headers: H,
    clock: Any,
) -> None:
    """The my-courses statement evaluates the release rule itself: a locked lesson is never
    the next item, and it becomes one the moment it opens."""
    course = create_course(instructor, lessons=3)
    enrollment_id = create_enrollment(student, course, enrolled_at=NOW)
    first, optional, later = course.lesson_ids
    opens = NOW + timedelta(days=2)
    items = [
        lesson_entry(first),
        lesson_entry(optional, is_required=False),
        lesson_entry(later, available_from=opens.isoformat()),
    ]
    answer = set_items(client, course, section_of(course.id), items, auth_headers(instructor))
    assert answer.status_code == 200, answer.text

    def next_item() -> Any:
        page = client.get("/api/v1/enrollments/my-courses", headers=auth_headers(student))
        assert page.status_code == 200, page.text
        [entry] = page.json()["items"]
        outline = client.get(f"/api/v1/courses/{course.id}/outline", headers=auth_headers(student))
        assert outline.status_code == 200, outline.text
        # The outline and my-courses share one definition of the next item.
        assert outline.json().get("next_item") == entry["next_item"]
        return entry["next_item"]

    assert next_item()["id"] == str(first)
    url = f"/api/v1/enrollments/{enrollment_id}/lessons/{first}/complete"
    assert client.post(url, headers=auth_headers(student)).status_code == 200
    # The optional lesson is skipped and the last one is still locked.
    assert next_item() is None
    clock(opens)
    reopened = next_item()
    assert (reopened["id"], reopened["kind"]) == (str(later), "lesson")
    assert reopened["title"]


def test_a_lesson_in_an_unpublished_section_is_not_counted_until_it_is_published(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any
) -> None:
    """A student cannot complete what they cannot see: a hidden section's lessons wait out of
    the count (and out of the catalogue's), and publishing the section recounts every
    learner."""
    course = create_course(instructor, lessons=2)
    enrollment_id = create_enrollment(student, course, enrolled_at=NOW)
    shown, hidden = course.lesson_ids
    staff = auth_headers(instructor)
    created = client.post(
        sections_url(course), json={"title": "Later", "is_published": False}, headers=staff
    )
    assert created.status_code == 201, created.text
    later = created.json()["id"]
    # The catalogue, read anonymously (and so from its cache), counts what students see.
    assert _catalogue_lesson_count(client, course) == 2
    answer = set_items(client, course, later, [lesson_entry(hidden)], staff)
    assert answer.status_code == 200, answer.text
    assert _enrollment(client, enrollment_id, auth_headers(student))["total_lessons_count"] == 1
    assert _catalogue_lesson_count(client, course) == 1

    url = f"/api/v1/enrollments/{enrollment_id}/lessons/{shown}/complete"
    assert client.post(url, headers=auth_headers(student)).status_code == 200
    done = _enrollment(client, enrollment_id, auth_headers(student))
    assert (done["status"], float(done["progress_percentage"])) == ("completed", 100.0)

    published = client.patch(
        f"{sections_url(course)}/{later}", json={"is_published": True}, headers=staff
    )
    assert published.status_code == 200, published.text
    assert _catalogue_lesson_count(client, course) == 2
    recounted = _enrollment(client, enrollment_id, auth_headers(student))
    assert (recounted["total_lessons_count"], float(recounted["progress_percentage"])) == (
        2,
        50.0,
    )

    hidden_again = client.patch(
        f"{sections_url(course)}/{later}", json={"is_published": False}, headers=staff
    )
    assert hidden_again.status_code == 200, hidden_again.text
    assert _enrollment(client, enrollment_id, auth_headers(student))["total_lessons_count"] == 1
