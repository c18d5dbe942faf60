"""Calendar: the caller's dated events (JSON, paginated) and the secret iCalendar feed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar

from app.core.database import session_scope, utcnow
from app.modules.assignments.models import AssignmentExtension
from app.modules.calendar.models import CalendarFeedToken
from app.modules.courses.models import CourseSection, Lesson
from app.modules.users.models import User
from tests.modules.assignments.factories import make_assignment
from tests.modules.courses.factories import create_course, create_enrollment
from tests.modules.quizzes.factories import enroll, make_course, make_quiz

H = Callable[[Any], dict[str, str]]
API = "/api/v1/calendar"
DAY = timedelta(days=1)


def _window(start: datetime, end: datetime, **extra: Any) -> dict[str, Any]:
    return {"from": start.isoformat(), "to": end.isoformat(), **extra}


def _extend(assignment_id: uuid.UUID, student: Any, due_at: datetime) -> None:
    with session_scope() as db:
        db.add(
            AssignmentExtension(assignment_id=assignment_id, student_id=student.id, due_at=due_at)
        )


@pytest.fixture
def school(instructor: Any, student: Any, make_user: Any) -> dict[str, Any]:
    """A course the student takes (due/lock dates, one extension for the student, one for a
    classmate, a draft) and a course they do not take."""
    now = utcnow().replace(microsecond=0)
    classmate = make_user(role="student", email="classmate@example.com")
    course = make_course(instructor)
    enroll(student, course)
    enroll(classmate, course)
    essay = make_assignment(course, title="Essay", due_at=now + 2 * DAY, lock_at=now + 3 * DAY)
    report = make_assignment(course, title="Report", due_at=now + 5 * DAY)
    make_assignment(course, title="Draft", due_at=now + 4 * DAY, published=False)
    quiz = make_quiz(course, title="Quiz 1", due_at=now + 6 * DAY, lock_at=now + 7 * DAY)
    _extend(essay, student, now + 4 * DAY)  # pushes the lock (3 days) to 4 days
    _extend(report, classmate, now + 9 * DAY)
    elsewhere = make_course(make_user(role="instructor", email="other-teacher@example.com"))
    make_assignment(elsewhere, title="Not yours", due_at=now + 2 * DAY)
    return {
        "now": now,
        "course": course,
        "essay": essay,
        "report": report,
        "quiz": quiz,
        "classmate": classmate,
    }


def _lesson_titles(lesson_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    with session_scope() as db:
        return {
            lesson.id: lesson.title for lesson in db.query(Lesson).filter(Lesson.id.in_(lesson_ids))
        }


def _first_section(course_id: uuid.UUID) -> uuid.UUID:
    with session_scope() as db:
        return db.query(CourseSection).filter_by(course_id=course_id, position=0).one().id


def _events(client: TestClient, headers: dict[str, str], start: datetime, end: datetime) -> Any:
    response = client.get(f"{API}/events", params=_window(start, end), headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_student_sees_their_dates_with_their_extensions(
    client: TestClient, student: Any, auth_headers: H, school: dict[str, Any]
) -> None:
    now = school["now"]
    body = _events(client, auth_headers(student), now + DAY / 2, now + 30 * DAY)
    seen = [(e["title"], e["kind"], e["starts_at"][:19]) for e in body["items"]]

    def at(delta: timedelta) -> str:
        return (now + delta).isoformat()[:19]

    assert seen == [
        ("Essay", "assignment_due", at(4 * DAY)),
        ("Essay", "assignment_lock", at(4 * DAY)),
        ("Report", "assignment_due", at(5 * DAY)),
        ("Quiz 1", "quiz_due", at(6 * DAY)),
        ("Quiz 1", "quiz_lock", at(7 * DAY)),
    ]
    assert body["items"][0]["uid"] == f"assignment_due-{school['essay']}@lms"
    assert body["items"][0]["url"].endswith(f"/assignments/{school['essay']}")


def test_classmate_and_instructor_see_their_own_dates(
    client: TestClient, instructor: Any, auth_headers: H, school: dict[str, Any]
) -> None:
    now = school["now"]
    classmate = _events(client, auth_headers(school["classmate"]), now + DAY / 2, now + 30 * DAY)
    dates = {(e["title"], e["kind"]): e["starts_at"][:19] for e in classmate["items"]}
    assert dates[("Essay", "assignment_due")] == (now + 2 * DAY).isoformat()[:19]
    assert dates[("Report", "assignment_due")] == (now + 9 * DAY).isoformat()[:19]
    assert ("Draft", "assignment_due") not in dates and ("Not yours", "assignment_due") not in dates

    teacher = _events(client, auth_headers(instructor), now + DAY / 2, now + 30 * DAY)
    titles = {(e["title"], e["kind"]): e["starts_at"][:19] for e in teacher["items"]}
    # The course's own dates, the draft too, no student's extension.
    assert titles[("Essay", "assignment_due")] == (now + 2 * DAY).isoformat()[:19]
    assert titles[("Report", "assignment_due")] == (now + 5 * DAY).isoformat()[:19]
    assert ("Draft", "assignment_due") in titles and ("Not yours", "assignment_due") not in titles


def test_course_release_dates_and_pagination(
    client: TestClient, student: Any, auth_headers: H, school: dict[str, Any]
) -> None:
    now = school["now"]
    params = _window(now - DAY, now + 30 * DAY, page=2, page_size=2)
    body = client.get(f"{API}/events", params=params, headers=auth_headers(student)).json()
    assert (body["total"], body["pages"], body["page"]) == (6, 3, 2)
    first = client.get(
        f"{API}/events", params={**params, "page": 1}, headers=auth_headers(student)
    ).json()
    assert first["items"][0]["kind"] == "course_release"
    assert first["items"][0]["item_id"] == str(school["course"].id)


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-05-02T00:00:00Z", "to": "2026-05-01T00:00:00Z"},
        {"from": "2026-01-01T00:00:00Z", "to": "2027-01-03T00:00:00Z"},
        {"from": "2026-05-01T00:00:00", "to": "2026-05-02T00:00:00Z"},
        {"from": "not a date", "to": "2026-05-02T00:00:00Z"},
        {"to": "2026-05-02T00:00:00Z"},
    ],
)
def test_bad_windows_are_422(
    client: TestClient, student: Any, auth_headers: H, params: dict[str, str]
) -> None:
    response = client.get(f"{API}/events", params=params, headers=auth_headers(student))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_events_need_authentication(client: TestClient) -> None:
    now = datetime(2026, 5, 1, tzinfo=UTC)
    assert client.get(f"{API}/events", params=_window(now, now + DAY)).status_code == 401


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_feed_is_an_icalendar_of_the_owner_only_with_stable_uids(
    client: TestClient, student: Any, auth_headers: H, school: dict[str, Any]
) -> None:
    issued = client.post(f"{API}/feed-token", headers=auth_headers(student))
    assert issued.status_code == 201
    token, url = issued.json()["token"], issued.json()["url"]
    assert url.endswith(f"/api/v1/calendar/feed/{token}.ics")
    with session_scope() as db:
        stored = db.query(CalendarFeedToken).one()
        assert token not in stored.token_hash and len(stored.token_hash) == 64

    first = client.get(_path(url))
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(first.content)
    events = calendar.walk("VEVENT")
    by_uid = {str(e["UID"]): e for e in events}
    essay_due = by_uid[f"assignment_due-{school['essay']}@lms"]
    start = essay_due.decoded("DTSTART")
    assert start == school["now"] + 4 * DAY and start.utcoffset() == timedelta(0)
    assert str(essay_due["SUMMARY"]) == "Essay: assignment due"
    assert str(essay_due["URL"]).endswith(f"/assignments/{school['essay']}")
    assert all("DTSTAMP" in e for e in events)
    summaries = " ".join(str(e["SUMMARY"]) for e in events)
    assert "Not yours" not in summaries and "Draft" not in summaries
    assert len(events) == 6  # 5 dated events and the course's release

    second = Calendar.from_ical(client.get(_path(url)).content)
    assert sorted(str(e["UID"]) for e in second.walk("VEVENT")) == sorted(by_uid)


def test_rotated_wrong_and_deactivated_feeds_are_404(
    client: TestClient, student: Any, auth_headers: H, school: dict[str, Any]
) -> None:
    old = client.post(f"{API}/feed-token", headers=auth_headers(student)).json()["url"]
    new = client.post(f"{API}/feed-token", headers=auth_headers(student)).json()["url"]
    assert client.get(_path(old)).status_code == 404
    assert client.get(_path(new)).status_code == 200
    wrong = client.get(f"{API}/feed/{'x' * 43}.ics")
    assert wrong.status_code == 404
    assert wrong.headers["content-type"].startswith("application/problem+json")
    with session_scope() as db:
        user = db.get(User, student.id)
        assert user is not None
        user.is_active = False
    assert client.get(_path(new)).status_code == 404


def test_feed_token_needs_authentication(client: TestClient) -> None:
    assert client.post(f"{API}/feed-token").status_code == 401
    assert client.delete(f"{API}/feed-token").status_code == 401


def test_a_deleted_feed_token_turns_the_feed_off_for_its_owner_only(
    client: TestClient, student: Any, auth_headers: H, school: dict[str, Any]
) -> None:
    mine = client.post(f"{API}/feed-token", headers=auth_headers(student)).json()["url"]
    classmate = auth_headers(school["classmate"])
    theirs = client.post(f"{API}/feed-token", headers=classmate).json()["url"]
    assert client.delete(f"{API}/feed-token", headers=auth_headers(student)).status_code == 204
    assert client.get(_path(mine)).status_code == 404
    assert client.get(_path(theirs)).status_code == 200
    # Nothing left to delete: still 204.
    assert client.delete(f"{API}/feed-token", headers=auth_headers(student)).status_code == 204


def test_a_due_date_moved_past_an_extension_gives_the_student_the_later_date(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, school: dict[str, Any]
) -> None:
    now = school["now"]
    moved = client.patch(
        f"/api/v1/assignments/{school['essay']}",
        json={"due_at": (now + 8 * DAY).isoformat(), "lock_at": (now + 9 * DAY).isoformat()},
        headers=auth_headers(instructor),
    )
    assert moved.status_code == 200, moved.text
    body = _events(client, auth_headers(student), now + DAY / 2, now + 30 * DAY)
    essay = [(e["kind"], e["starts_at"][:19]) for e in body["items"] if e["title"] == "Essay"]
    # The extension (4 days) ended before the new due date: the course's dates apply.
    assert essay == [
        ("assignment_due", (now + 8 * DAY).isoformat()[:19]),
        ("assignment_lock", (now + 9 * DAY).isoformat()[:19]),
    ]


def test_release_dates_of_sections_and_items_for_students_and_teachers(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    now = utcnow().replace(microsecond=0)
    course = create_course(instructor, lessons=3, title="Paced")
    create_enrollment(student, course, enrolled_at=now)
    first, later, soon = course.lesson_ids
    teacher = auth_headers(instructor)
    sections = f"/api/v1/courses/{course.id}/sections"

    def section(title: str, **fields: Any) -> str:
        made = client.post(sections, json={"title": title, **fields}, headers=teacher)
        assert made.status_code == 201, made.text
        return str(made.json()["id"])

    def place(section_id: Any, items: list[dict[str, Any]]) -> None:
        placed = client.put(
            f"{sections}/{section_id}/items", json={"items": items}, headers=teacher
        )
        assert placed.status_code == 200, placed.text

    week2 = section("Week 2", is_published=True, available_from=(now + 3 * DAY).isoformat())
    hidden = section("Next term", available_from=(now + 4 * DAY).isoformat())
    secret = make_assignment(course, title="Secret essay", due_at=now + 5 * DAY)
    # Week 2's lesson opens 5 days after the student's start, and not before the section.
    place(week2, [{"kind": "lesson", "id": str(later), "release_after_days": 5}])
    place(hidden, [{"kind": "assignment", "id": str(secret)}])
    place(
        _first_section(course.id),
        [
            {"kind": "lesson", "id": str(first)},
            {"kind": "lesson", "id": str(soon), "available_from": (now + 2 * DAY).isoformat()},
        ],
    )

    def seen(headers: dict[str, str]) -> list[tuple[str, str, str]]:
        body = _events(client, headers, now + DAY / 2, now + 30 * DAY)
        return [(e["kind"], e["title"], e["starts_at"][:19]) for e in body["items"]]

    def at(delta: timedelta) -> str:
        return (now + delta).isoformat()[:19]

    titles = _lesson_titles(course.lesson_ids)
    # The unpublished section, its assignment and its due date are not the student's to see.
    assert seen(auth_headers(student)) == [
        ("lesson_release", titles[soon], at(2 * DAY)),
        ("section_release", "Week 2", at(3 * DAY)),
        ("lesson_release", titles[later], at(5 * DAY)),
    ]
    # The course's own dates for its teacher: no relative date, every section and item.
    assert seen(teacher) == [
        ("lesson_release", titles[soon], at(2 * DAY)),
        ("section_release", "Week 2", at(3 * DAY)),
        ("section_release", "Next term", at(4 * DAY)),
        ("assignment_due", "Secret essay", at(5 * DAY)),
    ]
    token = client.post(f"{API}/feed-token", headers=auth_headers(student)).json()["token"]
    feed = Calendar.from_ical(client.get(f"{API}/feed/{token}.ics").content)
    events = {str(e["UID"]): str(e["SUMMARY"]) for e in feed.walk("VEVENT")}
    assert events[f"lesson_release-{later}@lms"] == f"{titles[later]}: lesson opens"
    assert events[f"section_release-{week2}@lms"] == "Week 2: section opens"
    assert not any("Secret" in summary for summary in events.values())

    # Published, the section and its assignment reach the student's calendar.
    opened = client.patch(f"{sections}/{hidden}", json={"is_published": True}, headers=teacher)
    assert opened.status_code == 200, opened.text
    assert ("assignment_due", "Secret essay", at(5 * DAY)) in seen(auth_headers(student))
