"""Enrolling (free, paid, drafts, twice), dropping, reviews, access rules, rosters, stats."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, update

from app.core.config import get_settings
from app.core.database import session_scope
from app.core.errors import NotFound
from app.modules.enrollments import service
from app.modules.enrollments.models import Enrollment
from app.modules.users.models import User
from tests.modules.courses.factories import create_course, create_enrollment

API = "/api/v1"


def _outbox() -> list[dict[str, Any]]:
    index = get_settings().VAR_DIR / "outbox" / "index.jsonl"
    if not index.exists():
        return []
    return [json.loads(line) for line in index.read_text().splitlines()]


def _enrollment_count() -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count(Enrollment.id))) or 0)


def _enroll(client: Any, headers: dict[str, str], course_id: Any) -> Any:
    return client.post(f"{API}/enrollments", json={"course_id": str(course_id)}, headers=headers)


# --- enrolling ------------------------------------------------------------------------------


def test_enroll_in_free_course(
    client: Any, instructor: Any, student: Any, auth_headers: Any, recorded: list[Any]
) -> None:
    course = create_course(instructor, lessons=4, title="Free Course")
    sent_before = len(_outbox())
    response = _enroll(client, auth_headers(student), course.id)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "active"
    assert body["total_lessons_count"] == 4
    assert body["progress_percentage"] == 0.0
    assert recorded == [
        (
            "enrollment.created",
            {
                "enrollment_id": body["id"],
                "student_id": str(student.id),
                "course_id": str(course.id),
            },
        )
    ]
    mails = _outbox()[sent_before:]
    assert [(mail["to"], mail["subject"]) for mail in mails] == [
        (student.email, "You are enrolled in Free Course")
    ]


def test_enrolling_twice_yields_one_enrollment(
    client: Any, instructor: Any, student: Any, auth_headers: Any, recorded: list[Any]
) -> None:
    course = create_course(instructor)
    first = _enroll(client, auth_headers(student), course.id)
    second = _enroll(client, auth_headers(student), course.id)
    assert second.status_code == 409
    assert second.json()["code"] == "already_enrolled"
    assert second.json()["enrollment_id"] == first.json()["id"]
    assert _enrollment_count() == 1
    assert len(recorded) == 1


def test_enrolling_in_a_draft_is_refused(
    client: Any, instructor: Any, student: Any, admin: Any, auth_headers: Any
) -> None:
    draft = create_course(instructor, published=False)
    hidden = _enroll(client, auth_headers(student), draft.id)
    assert hidden.status_code == 404
    # An admin can see the draft, and is still refused.
    refused = _enroll(client, auth_headers(admin), draft.id)
    assert refused.status_code == 422
    assert refused.json()["code"] == "course_not_published"
    assert _enrollment_count() == 0


def test_instructors_do_not_enroll(client: Any, instructor: Any, auth_headers: Any) -> None:
    course = create_course(instructor)
    assert _enroll(client, auth_headers(instructor), course.id).status_code == 403


def test_enroll_validation(client: Any, student: Any, auth_headers: Any) -> None:
    headers = auth_headers(student)
    assert client.post(f"{API}/enrollments", json={}, headers=headers).status_code == 422
    assert (
        client.post(f"{API}/enrollments", json={"course_id": "x"}, headers=headers).status_code
        == 422
    )
    assert _enroll(client, headers, "00000000-0000-0000-0000-000000000000").status_code == 404
    assert _enroll(client, {}, "00000000-0000-0000-0000-000000000000").status_code == 401


def test_paid_course_answers_payment_required(
    client: Any, instructor: Any, student: Any, auth_headers: Any, recorded: list[Any]
) -> None:
    course = create_course(instructor, price="49.99", currency="EUR")
    response = _enroll(client, auth_headers(student), course.id)
    assert response.status_code == 402
    body = response.json()
    assert body["code"] == "payment_required"
    assert (body["course_id"], body["price"], body["currency"]) == (str(course.id), "49.99", "EUR")
    # The body carries a checkout at the configured gateway (sandbox in tests), and the
    # pending payment behind it is kept.
    checkout = body["checkout"]
    assert checkout["gateway"] == "sandbox" and checkout["status"] == "pending"
    assert (checkout["amount"], checkout["currency"]) == ("49.99", "EUR")
    assert checkout["checkout_url"]
    mine = client.get(f"{API}/payments/my-payments", headers=auth_headers(student)).json()
    assert [p["id"] for p in mine["items"]] == [checkout["payment_id"]]
    assert _enrollment_count() == 0
    assert recorded == []


def test_paid_activation_is_idempotent_and_revocable(
    instructor: Any, student: Any, recorded: list[Any]
) -> None:
    course = create_course(instructor, price="20.00", lessons=2)
    with session_scope() as session:
        first = service.activate_paid_enrollment(
            session, student_id=student.id, course_id=course.id
        )
        first_id = first.id
    with session_scope() as session:
        again = service.activate_paid_enrollment(
            session, student_id=student.id, course_id=course.id
        )
        assert again.id == first_id
    assert [name for name, _ in recorded] == ["enrollment.created"]

    with session_scope() as session:
        service.revoke_paid_access(session, pairs=[(student.id, course.id)])
    with session_scope() as session:
        assert (
            service.get_student_enrollment(session, student_id=student.id, course_id=course.id)
            is None
        )
        row = session.get(Enrollment, first_id)
        assert row is not None and row.status == "dropped" and row.dropped_at is not None
    with session_scope() as session:
        back = service.activate_paid_enrollment(session, student_id=student.id, course_id=course.id)
        assert back.id == first_id and back.status == "active" and back.dropped_at is None
    assert [name for name, _ in recorded] == ["enrollment.created", "enrollment.created"]


def test_revoking_paid_access_drops_only_the_named_enrollments(
    instructor: Any, student: Any, other_student: Any
) -> None:
    """Revoked (student, course) pairs lose access; the same student's other course and
    another student of the same course keep theirs, and a dropped one keeps its drop time."""
    refunded, kept = create_course(instructor, price="20.00"), create_course(instructor)
    lost = create_enrollment(student, refunded)
    other_course = create_enrollment(student, kept)
    other_student_enrollment = create_enrollment(other_student, refunded)
    with session_scope() as session:
        service.revoke_paid_access(session, pairs=[(student.id, refunded.id)])
    with session_scope() as session:
        first_drop = session.get(Enrollment, lost)
        assert first_drop is not None and first_drop.dropped_at is not None
        dropped_at = first_drop.dropped_at
    with session_scope() as session:
        service.revoke_paid_access(
            session, pairs=[(student.id, refunded.id), (other_student.id, kept.id)]
        )
    with session_scope() as session:
        statuses = {
            row.id: (row.status, row.dropped_at) for row in session.scalars(select(Enrollment))
        }
    assert statuses[lost] == ("dropped", dropped_at)
    assert statuses[other_course] == ("active", None)
    assert statuses[other_student_enrollment] == ("active", None)


def test_paid_activation_for_unknown_course(student: Any) -> None:
    with session_scope() as session, pytest.raises(NotFound):
        service.activate_paid_enrollment(session, student_id=student.id, course_id=uuid.uuid4())


# --- dropping -------------------------------------------------------------------------------


def test_drop_keeps_history_and_reenrolling_reactivates(
    client: Any, instructor: Any, student: Any, auth_headers: Any
) -> None:
    course = create_course(instructor)
    headers = auth_headers(student)
    enrollment_id = _enroll(client, headers, course.id).json()["id"]
    assert client.delete(f"{API}/enrollments/{enrollment_id}", headers=headers).status_code == 204
    assert client.get(f"{API}/enrollments/my-courses", headers=headers).json()["total"] == 0
    dropped = client.get(f"{API}/enrollments/my-courses?status=dropped", headers=headers).json()
    assert [item["id"] for item in dropped["items"]] == [enrollment_id]
    # Dropping again is harmless.
    again = client.post(f"{API}/enrollments/{enrollment_id}/drop", headers=headers)
    assert again.status_code == 200 and again.json()["status"] == "dropped"

    back = _enroll(client, headers, course.id)
    assert back.status_code == 201
    assert back.json()["id"] == enrollment_id
    assert _enrollment_count() == 1


def test_completed_enrollment_cannot_be_dropped(
    client: Any, instructor: Any, student: Any, auth_headers: Any
) -> None:
    course = create_course(instructor)
    enrollment_id = create_enrollment(student, course, status="completed")
    response = client.post(f"{API}/enrollments/{enrollment_id}/drop", headers=auth_headers(student))
    assert response.status_code == 422


def test_student_cannot_drop_another_students_enrollment(
    client: Any, instructor: Any, student: Any, other_student: Any, auth_headers: Any
) -> None:
    course = create_course(instructor)
    enrollment_id = create_enrollment(student, course)
    intruder = auth_headers(other_student)
    assert client.delete(f"{API}/enrollments/{enrollment_id}", headers=intruder).status_code == 403
    with session_scope() as session:
        row = session.get(Enrollment, enrollment_id)
        assert row is not None and row.status == "active"


# --- reading and access ---------------------------------------------------------------------


def test_enrollment_visible_to_student_owner_and_admin_only(
    client: Any,
    instructor: Any,
    other_instructor: Any,
    student: Any,
    other_student: Any,
    admin: Any,
    auth_headers: Any,
) -> None:
    course = create_course(instructor)
    enrollment_id = create_enrollment(student, course)
    url = f"{API}/enrollments/{enrollment_id}"
    for viewer in (student, instructor, admin):
        response = client.get(url, headers=auth_headers(viewer))
        assert response.status_code == 200
        assert response.json()["course"]["id"] == str(course.id)
    for viewer in (other_student, other_instructor):
        assert client.get(url, headers=auth_headers(viewer)).status_code == 403
    assert client.get(url).status_code == 401
    missing = client.get(
        f"{API}/enrollments/00000000-0000-0000-0000-000000000000", headers=auth_headers(student)
    )
    assert missing.status_code == 404


def test_my_courses_lists_only_mine_with_pagination(
    client: Any, instructor: Any, student: Any, other_student: Any, auth_headers: Any
) -> None:
    courses = [create_course(instructor, title=f"Topic {n}") for n in range(3)]
    for course in courses:
        create_enrollment(student, course)
    create_enrollment(other_student, courses[0])
    page = client.get(
        f"{API}/enrollments/my-courses", params={"page_size": 2}, headers=auth_headers(student)
    ).json()
    assert page["total"] == 3 and page["pages"] == 2 and len(page["items"]) == 2
    assert all(item["student_id"] == str(student.id) for item in page["items"])
    assert {"title", "slug", "thumbnail_url"} <= set(page["items"][0]["course"])
    newest_first = [str(course.id) for course in reversed(courses)]
    assert [item["course"]["id"] for item in page["items"]] == newest_first[:2]
    assert page["items"][0]["course"]["title"] == "Topic 2"
    last = client.get(
        f"{API}/enrollments/my-courses",
        params={"page_size": 2, "page": 2},
        headers=auth_headers(student),
    ).json()
    assert [item["course"]["id"] for item in last["items"]] == newest_first[2:]
    assert last["total"] == 3
    beyond = client.get(
        f"{API}/enrollments/my-courses",
        params={"page_size": 2, "page": 5},
        headers=auth_headers(student),
    ).json()
    assert beyond["items"] == [] and beyond["total"] == 3
    assert (
        client.get(
            f"{API}/enrollments/my-courses?status=bogus", headers=auth_headers(student)
        ).status_code
        == 422
    )


@pytest.mark.parametrize("enrolled", [True, False])
@pytest.mark.parametrize(
    ("change", "code"),
    [({"is_active": False}, "user_inactive"), ({"token_version": 1}, "token_revoked")],
)
def test_my_courses_refuses_deactivated_students_and_stale_tokens(
    client: Any,
    instructor: Any,
    student: Any,
    auth_headers: Any,
    enrolled: bool,
    change: dict[str, Any],
    code: str,
) -> None:
    """The list's one statement checks the student itself (the user is not loaded first):
    a page with rows and an empty page both refuse a deactivated student or an old token."""
    if enrolled:
        create_enrollment(student, create_course(instructor))
    headers = auth_headers(student)
    assert client.get(f"{API}/enrollments/my-courses", headers=headers).status_code == 200
    with session_scope() as session:
        session.execute(update(User).where(User.id == student.id).values(**change))
    for query in ("", "?status=active", "?page=3"):
        response = client.get(f"{API}/enrollments/my-courses{query}", headers=headers)
        assert response.status_code == 401, response.text
        assert response.json()["code"] == code


def test_roster_and_stats_for_owner_and_admin_only(
    client: Any,
    instructor: Any,
    other_instructor: Any,
    student: Any,
    other_student: Any,
    admin: Any,
    make_user: Any,
    auth_headers: Any,
) -> None:
    course = create_course(instructor, lessons=4)
    create_enrollment(student, course, status="completed", progress_percentage=100, rating=4)
    create_enrollment(other_student, course, progress_percentage=50, rating=2)
    create_enrollment(make_user(), course, status="dropped", progress_percentage=25, rating=1)
    roster_url = f"{API}/enrollments/courses/{course.id}"
    stats_url = f"{roster_url}/stats"
    for viewer in (instructor, admin):
        roster = client.get(roster_url, headers=auth_headers(viewer)).json()
        assert roster["total"] == 3
        assert {"full_name", "email"} <= set(roster["items"][0]["student"])
    completed = client.get(
        roster_url, params={"status": "completed"}, headers=auth_headers(instructor)
    ).json()
    assert [item["student"]["email"] for item in completed["items"]] == [student.email]

    stats = client.get(stats_url, headers=auth_headers(instructor)).json()
    assert stats == {
        "course_id": str(course.id),
        "total_enrollments": 3,
        "active": 1,
        "completed": 1,
        "dropped": 1,
        "average_progress": 75.0,
        "completion_rate": 33.33,  # percent, as in the analytics endpoints
        "average_rating": 3.0,
        "rating_count": 2,
    }
    for viewer in (other_instructor, student):
        assert client.get(roster_url, headers=auth_headers(viewer)).status_code == 403
        assert client.get(stats_url, headers=auth_headers(viewer)).status_code == 403


def test_stats_of_course_without_enrollments(
    client: Any, instructor: Any, auth_headers: Any
) -> None:
    course = create_course(instructor)
    stats = client.get(
        f"{API}/enrollments/courses/{course.id}/stats", headers=auth_headers(instructor)
    ).json()
    assert stats["total_enrollments"] == 0
    assert stats["completion_rate"] == 0.0
    assert stats["average_rating"] is None


# --- reviews --------------------------------------------------------------------------------


def test_review_once_and_edit(
    client: Any, instructor: Any, student: Any, auth_headers: Any
) -> None:
    course = create_course(instructor)
    enrollment_id = create_enrollment(student, course)
    url = f"{API}/enrollments/{enrollment_id}/review"
    headers = auth_headers(student)
    assert client.post(url, json={"rating": 2, "review": "Meh"}, headers=headers).status_code == 200
    edited = client.post(url, json={"rating": 5, "review": "Grew on me"}, headers=headers)
    assert edited.json()["rating"] == 5 and edited.json()["review"] == "Grew on me"
    detail = client.get(f"{API}/courses/{course.id}").json()
    assert detail["average_rating"] == 5.0 and detail["rating_count"] == 1


@pytest.mark.parametrize(
    "body",
    [{"rating": 0}, {"rating": 6}, {"rating": "five"}, {}, {"rating": 3, "review": "x" * 5001}],
)
def test_review_validation(
    client: Any, instructor: Any, student: Any, auth_headers: Any, body: dict[str, Any]
) -> None:
    course = create_course(instructor)
    enrollment_id = create_enrollment(student, course)
    response = client.post(
        f"{API}/enrollments/{enrollment_id}/review", json=body, headers=auth_headers(student)
    )
    assert response.status_code == 422
    with session_scope() as session:
        row = session.get(Enrollment, enrollment_id)
        assert row is not None and row.rating is None


def test_review_refused_for_others_and_dropped(
    client: Any, instructor: Any, student: Any, other_student: Any, auth_headers: Any
) -> None:
    course = create_course(instructor)
    enrollment_id = create_enrollment(student, course)
    url = f"{API}/enrollments/{enrollment_id}/review"
    assert (
        client.post(url, json={"rating": 1}, headers=auth_headers(other_student)).status_code == 403
    )
    assert client.post(url, json={"rating": 1}, headers=auth_headers(instructor)).status_code == 403
    dropped_id = create_enrollment(other_student, create_course(instructor), status="dropped")
    dropped = client.post(
        f"{API}/enrollments/{dropped_id}/review",
        json={"rating": 1},
        headers=auth_headers(other_student),
    )
    assert dropped.status_code == 422
