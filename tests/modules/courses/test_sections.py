"""Sections, their items and the release rule (`courses.release`): who may open a lesson, when,
and after what; the learner's outline (clock set by the test)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from app.core.database import session_scope
from app.modules.courses.models import CourseSection, SectionItem
from tests.modules.courses.factories import create_course, create_enrollment
from tests.modules.courses.structure import (
    NOW,
    join_new_cohort,
    lesson_entry,
    section_of,
    sections_url,
    set_items,
)

H = Callable[[Any], dict[str, str]]


def test_a_lesson_opens_at_its_release_date(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any
) -> None:
    course = create_course(instructor, lessons=2)
    create_enrollment(student, course)
    section = section_of(course.id)
    first, second = course.lesson_ids
    opens = NOW + timedelta(days=2)
    answer = set_items(
        client,
        course,
        section,
        [lesson_entry(first), lesson_entry(second, available_from=opens.isoformat())],
        auth_headers(instructor),
    )
    assert answer.status_code == 200, answer.text

    assert client.get(f"/api/v1/lessons/{first}", headers=auth_headers(student)).status_code == 200
    locked = client.get(f"/api/v1/lessons/{second}", headers=auth_headers(student))
    assert locked.status_code == 403
    body = locked.json()
    assert body["code"] == "item_locked"
    assert body["reasons"][0]["reason"] == "not_yet_available"
    assert datetime.fromisoformat(body["unlock_at"]) == opens
    # The course's instructor sees it all the same.
    as_teacher = client.get(f"/api/v1/lessons/{second}", headers=auth_headers(instructor))
    assert as_teacher.status_code == 200

    clock(opens)
    assert client.get(f"/api/v1/lessons/{second}", headers=auth_headers(student)).status_code == 200


def test_a_prerequisite_opens_once_completed(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any
) -> None:
    course = create_course(instructor, lessons=2)
    enrollment_id = create_enrollment(student, course)
    section = section_of(course.id)
    first, second = course.lesson_ids
    needs_first = {"prerequisites": [{"kind": "lesson", "id": str(first)}]}
    answer = set_items(
        client,
        course,
        section,
        [lesson_entry(first), lesson_entry(second, **needs_first)],
        auth_headers(instructor),
    )
    assert answer.status_code == 200, answer.text

    locked = client.get(f"/api/v1/lessons/{second}", headers=auth_headers(student))
    assert locked.status_code == 403
    [reason] = locked.json()["reasons"]
    assert reason["reason"] == "prerequisite"
    listed = client.get(f"{sections_url(course)}/{section}", headers=auth_headers(instructor))
    first_item = next(i["item_id"] for i in listed.json()["items"] if i["id"] == str(first))
    assert [need["item_id"] for need in reason["missing"]] == [first_item]

    done = client.post(
        f"/api/v1/enrollments/{enrollment_id}/lessons/{first}/complete",
        headers=auth_headers(student),
    )
    assert done.status_code == 200, done.text
    assert client.get(f"/api/v1/lessons/{second}", headers=auth_headers(student)).status_code == 200


def test_a_prerequisite_cycle_is_refused_and_changes_nothing(
    client: TestClient, instructor: Any, auth_headers: H
) -> None:
    course = create_course(instructor, lessons=2)
    section = section_of(course.id)
    first, second = course.lesson_ids
    cycle = [
        lesson_entry(first, prerequisites=[{"kind": "lesson", "id": str(second)}]),
        lesson_entry(second, prerequisites=[{"kind": "lesson", "id": str(first)}]),
    ]
    refused = set_items(client, course, section, cycle, auth_headers(instructor))
    assert refused.status_code == 422
    assert refused.json()["code"] == "prerequisite_cycle"
    listed = client.get(f"{sections_url(course)}/{section}", headers=auth_headers(instructor))
    assert all(item["prerequisites"] == [] for item in listed.json()["items"])


def test_an_item_cannot_drop_out_of_the_structure_and_moves_in_one_request(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any
) -> None:
    course = create_course(instructor, lessons=2)
    enrollment_id = create_enrollment(student, course)
    section = section_of(course.id)
    first, second = course.lesson_ids
    h = auth_headers(instructor)
    needs_first = {"prerequisites": [{"kind": "lesson", "id": str(first)}]}
    locked = set_items(
        client, course, section, [lesson_entry(first), lesson_entry(second, **needs_first)], h
    )
    assert locked.status_code == 200, locked.text

    # Leaving the locked lesson out would have freed it from its rule and from the outline.
    refused = set_items(client, course, section, [lesson_entry(first)], h)
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "item_left_out"
    assert body["items"] == [{"kind": "lesson", "id": str(second)}]
    listed = client.get(f"{sections_url(course)}/{section}", headers=h).json()
    assert [item["id"] for item in listed["items"]] == [str(first), str(second)]
    assert listed["items"][1]["prerequisites"] != []
    student_h = auth_headers(student)
    assert client.get(f"/api/v1/lessons/{second}", headers=student_h).status_code == 403

    # Moving it is one request to the section it goes to, which the student's outline follows.
    later = client.post(
        sections_url(course), json={"title": "Week 2", "is_published": True}, headers=h
    )
    assert later.status_code == 201, later.text
    moved = set_items(client, course, uuid.UUID(later.json()["id"]), [lesson_entry(second)], h)
    assert moved.status_code == 200, moved.text
    outline = client.get(f"/api/v1/courses/{course.id}/outline", headers=student_h).json()
    assert [[item["id"] for item in s["items"]] for s in outline["sections"]] == [
        [str(first)],
        [str(second)],
    ]
    done = client.post(
        f"/api/v1/enrollments/{enrollment_id}/lessons/{first}/complete", headers=student_h
    )
    assert done.json()["progress_percentage"] == 50.0
    assert (
        client.get(f"/api/v1/courses/{course.id}/outline", headers=student_h).json()[
            "progress_percentage"
        ]
        == "50.00"
    )


def test_only_the_course_staff_change_sections(
    client: TestClient, instructor: Any, student: Any, make_user: Any, auth_headers: H
) -> None:
    other = make_user(role="instructor", email="other-teacher@example.com")
    course = create_course(instructor, lessons=1)
    create_enrollment(student, course)
    body = {"title": "Week 2"}
    assert client.post(sections_url(course), json=body).status_code == 401
    for who in (student, other):
        refused = client.post(sections_url(course), json=body, headers=auth_headers(who))
        assert refused.status_code in (403, 404)
    created = client.post(sections_url(course), json=body, headers=auth_headers(instructor))
    assert created.status_code == 201, created.text
    with session_scope() as db:
        assert db.query(CourseSection).filter_by(course_id=course.id).count() == 2


def test_the_order_must_name_every_section_once(
    client: TestClient, instructor: Any, auth_headers: H
) -> None:
    course = create_course(instructor, lessons=1)
    h = auth_headers(instructor)
    first = section_of(course.id)
    second = client.post(sections_url(course), json={"title": "Week 2"}, headers=h).json()["id"]
    url = f"{sections_url(course)}/order"
    assert client.put(url, json={"section_ids": [str(first)]}, headers=h).status_code == 422
    twice = {"section_ids": [str(first), str(first)]}
    assert client.put(url, json=twice, headers=h).status_code == 422
    moved = client.put(url, json={"section_ids": [second, str(first)]}, headers=h)
    assert moved.status_code == 200, moved.text
    listed = client.get(sections_url(course), headers=h).json()
    assert [s["id"] for s in listed] == [second, str(first)]


def test_unpublished_sections_hide_their_lessons_from_students(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any
) -> None:
    course = create_course(instructor, lessons=2)
    create_enrollment(student, course)
    h = auth_headers(instructor)
    hidden = client.post(
        sections_url(course), json={"title": "Draft week", "is_published": False}, headers=h
    ).json()["id"]
    moved = set_items(client, course, uuid.UUID(hidden), [lesson_entry(course.lesson_ids[1])], h)
    assert moved.status_code == 200, moved.text
    with session_scope() as db:
        assert db.query(SectionItem).filter_by(section_id=uuid.UUID(hidden)).count() == 1
    listed = client.get(f"/api/v1/courses/{course.id}/lessons", headers=auth_headers(student))
    assert [lesson["id"] for lesson in listed.json()] == [str(course.lesson_ids[0])]
    detail = client.get(f"/api/v1/lessons/{course.lesson_ids[1]}", headers=auth_headers(student))
    assert detail.status_code == 404


def test_the_outline_shows_states_and_the_next_item(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any
) -> None:
    course = create_course(instructor, lessons=3)
    enrollment_id = create_enrollment(student, course)
    section = section_of(course.id)
    first, second, third = course.lesson_ids
    later = (NOW + timedelta(days=7)).isoformat()
    items = [lesson_entry(first), lesson_entry(second), lesson_entry(third, available_from=later)]
    assert set_items(client, course, section, items, auth_headers(instructor)).status_code == 200
    done = client.post(
        f"/api/v1/enrollments/{enrollment_id}/lessons/{first}/complete",
        headers=auth_headers(student),
    )
    assert done.status_code == 200, done.text

    outline = client.get(f"/api/v1/courses/{course.id}/outline", headers=auth_headers(student))
    assert outline.status_code == 200, outline.text
    body = outline.json()
    states = [item["state"] for item in body["sections"][0]["items"]]
    assert states == ["completed", "open", "locked"]
    assert body["next_item"]["id"] == str(second)

    teacher = client.get(f"/api/v1/courses/{course.id}/outline", headers=auth_headers(instructor))
    assert teacher.status_code == 200
    counts = [item["completed_count"] for item in teacher.json()["sections"][0]["items"]]
    assert counts == [1, 0, 0]


def test_release_after_days_counts_from_the_cohort_start_else_the_enrollment(
    client: TestClient,
    instructor: Any,
    student: Any,
    make_user: Any,
    auth_headers: H,
    clock: Any,
) -> None:
    classmate = make_user(role="student", email="classmate@example.com")
    course = create_course(instructor, lessons=1)
    enrollments = {
        "student": create_enrollment(student, course, enrolled_at=NOW),
        "classmate": create_enrollment(classmate, course, enrolled_at=NOW),
    }
    join_new_cohort(course, classmate, name="Spring", starts_at=NOW + timedelta(days=10))
    [lesson] = course.lesson_ids
    weekly = lesson_entry(lesson, release_after_days=7)
    h = auth_headers(instructor)
    assert set_items(client, course, section_of(course.id), [weekly], h).status_code == 200
    beat = {"position_seconds": 10, "time_spent_delta_seconds": 10, "completion_percentage": 5}

    def status(who: Any) -> int:
        name = "student" if who is student else "classmate"
        read = client.get(f"/api/v1/lessons/{lesson}", headers=auth_headers(who))
        # The heartbeat's own statement holds the same rule (`release.target_open`).
        progress = f"/api/v1/enrollments/{enrollments[name]}/lessons/{lesson}/progress"
        heartbeat = client.put(progress, json=beat, headers=auth_headers(who))
        assert heartbeat.status_code == read.status_code, heartbeat.text
        return read.status_code

    assert (status(student), status(classmate)) == (403, 403)
    clock(NOW + timedelta(days=7))
    # Seven days after enrolling; the cohort member waits for seven days after its start.
    assert (status(student), status(classmate)) == (200, 403)
    clock(NOW + timedelta(days=17))
    assert status(classmate) == 200


def test_a_locked_lesson_takes_no_heartbeat_and_cannot_be_completed(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any
) -> None:
    course = create_course(instructor, lessons=1)
    enrollment_id = create_enrollment(student, course, enrolled_at=NOW)
    [lesson] = course.lesson_ids
    opens = NOW + timedelta(days=3)
    items = [lesson_entry(lesson, available_from=opens.isoformat())]
    answer = set_items(client, course, section_of(course.id), items, auth_headers(instructor))
    assert answer.status_code == 200
    lesson_url = f"/api/v1/enrollments/{enrollment_id}/lessons/{lesson}"
    beat = {"position_seconds": 10, "time_spent_delta_seconds": 10, "completion_percentage": 5}
    for answer in (
        client.put(f"{lesson_url}/progress", json=beat, headers=auth_headers(student)),
        client.post(f"{lesson_url}/complete", headers=auth_headers(student)),
    ):
        assert answer.status_code == 403, answer.text
        assert answer.json()["code"] == "item_locked"
    detail = client.get(f"/api/v1/enrollments/{enrollment_id}", headers=auth_headers(student))
    assert detail.json()["total_time_spent_seconds"] == 0
    assert detail.json()["lessons"] == []


def test_the_heartbeat_waits_for_a_prerequisite_and_counts_once_it_is_met(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any
) -> None:
    """The heartbeat's statement evaluates prerequisites itself (the same SQL as the guards):
    refused while the first lesson is not completed, credited once it is."""
    course = create_course(instructor, lessons=2)
    enrollment_id = create_enrollment(student, course, enrolled_at=NOW)
    first, second = course.lesson_ids
    needs_first = {"prerequisites": [{"kind": "lesson", "id": str(first)}]}
    items = [lesson_entry(first), lesson_entry(second, **needs_first)]
    answer = set_items(client, course, section_of(course.id), items, auth_headers(instructor))
    assert answer.status_code == 200, answer.text
    url = f"/api/v1/enrollments/{enrollment_id}/lessons"
    beat = {"position_seconds": 10, "time_spent_delta_seconds": 10, "completion_percentage": 5}
    refused = client.put(f"{url}/{second}/progress", json=beat, headers=auth_headers(student))
    assert refused.status_code == 403, refused.text
    assert refused.json()["reasons"][0]["reason"] == "prerequisite"

    assert client.post(f"{url}/{first}/complete", headers=auth_headers(student)).status_code == 200
    clock(NOW + timedelta(minutes=1))
    taken = client.put(f"{url}/{second}/progress", json=beat, headers=auth_headers(student))
    assert taken.status_code == 200, taken.text
    assert taken.json()["last_position_seconds"] == 10


def test_a_locked_answer_words_its_reasons_as_the_outline_does(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any
) -> None:
    course = create_course(instructor, lessons=2)
    create_enrollment(student, course, enrolled_at=NOW)
    first, second = course.lesson_ids
    opens = NOW + timedelta(days=2)
    rules = {
        "available_from": opens.isoformat(),
        "prerequisites": [{"kind": "lesson", "id": str(first)}],
    }
    items = [lesson_entry(first), lesson_entry(second, **rules)]
    answer = set_items(client, course, section_of(course.id), items, auth_headers(instructor))
    assert answer.status_code == 200, answer.text

    locked = client.get(f"/api/v1/lessons/{second}", headers=auth_headers(student))
    assert locked.status_code == 403
    outline = client.get(f"/api/v1/courses/{course.id}/outline", headers=auth_headers(student))
    [item] = [i for i in outline.json()["sections"][0]["items"] if i["id"] == str(second)]
    body = locked.json()
    assert body["reasons"] == item["reasons"]
    assert [reason["reason"] for reason in body["reasons"]] == ["not_yet_available", "prerequisite"]
    [waiting] = body["reasons"][1]["missing"]
    assert set(waiting) == {"item_id"}  # no null members
    assert body["unlock_at"] == body["reasons"][0]["unlock_at"]
    assert datetime.fromisoformat(body["unlock_at"]) == opens
