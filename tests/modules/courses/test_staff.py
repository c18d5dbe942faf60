"""Course staff: roles and what each may do, the owner's fixed role, teaching assistants'
cohorts, and staff members seeing their courses."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from app.core.database import session_scope
from app.modules.courses.models import CourseStaff
from tests.modules.courses.factories import create_course
from tests.modules.courses.staff_factories import create_cast
from tests.modules.courses.test_staff_access_matrix import snapshot

API = "/api/v1"


def test_the_staff_list_names_everyone_with_their_role_and_cohorts(
    client: Any, make_user: Callable[..., Any], auth_headers: Any
) -> None:
    cast = create_cast(make_user)
    response = client.get(
        f"{API}/courses/{cast.course.id}/staff",
        params={"page_size": 2},
        headers=auth_headers(cast.users["ta_in"]),
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["pages"], len(body["items"])) == (4, 2, 2)
    everyone = client.get(
        f"{API}/courses/{cast.course.id}/staff", headers=auth_headers(cast.users["owner"])
    ).json()["items"]
    roles = {item["email"]: (item["role"], item["cohort_ids"]) for item in everyone}
    assert roles == {
        "owner@example.com": ("owner", []),
        "co@example.com": ("instructor", []),
        "ta.in@example.com": ("teaching_assistant", [str(cast.cohort_a)]),
        "ta.out@example.com": ("teaching_assistant", [str(cast.cohort_b)]),
    }


def test_a_course_created_over_the_api_lists_its_owner(
    client: Any, instructor: Any, auth_headers: Any
) -> None:
    created = client.post(
        f"{API}/courses", json={"title": "Fresh"}, headers=auth_headers(instructor)
    ).json()
    staff = client.get(
        f"{API}/courses/{created['id']}/staff", headers=auth_headers(instructor)
    ).json()
    assert [(item["user_id"], item["role"]) for item in staff["items"]] == [
        (str(instructor.id), "owner")
    ]


def test_the_owner_adds_changes_and_removes_staff(
    client: Any, make_user: Callable[..., Any], auth_headers: Any
) -> None:
    cast = create_cast(make_user)
    owner = auth_headers(cast.users["owner"])
    newcomer = cast.users["other_instructor"]
    url = f"{API}/courses/{cast.course.id}/staff/{newcomer.id}"
    # Before: the other instructor cannot touch the course's content.
    assert (
        client.patch(
            f"{API}/courses/{cast.course.id}", json={"title": "x"}, headers=auth_headers(newcomer)
        ).status_code
        == 403
    )
    added = client.put(url, json={"role": "instructor"}, headers=owner)
    assert added.status_code == 200
    assert added.json()["role"] == "instructor"
    patched = client.patch(
        f"{API}/courses/{cast.course.id}", json={"title": "Edited"}, headers=auth_headers(newcomer)
    )
    assert patched.status_code == 200
    changed = client.put(
        url, json={"role": "teaching_assistant", "cohort_ids": [str(cast.cohort_a)]}, headers=owner
    )
    assert changed.json()["cohort_ids"] == [str(cast.cohort_a)]
    assert client.get(url, headers=owner).json()["role"] == "teaching_assistant"
    # A teaching assistant reads and grades only: no content edits.
    assert (
        client.patch(
            f"{API}/courses/{cast.course.id}", json={"title": "y"}, headers=auth_headers(newcomer)
        ).status_code
        == 403
    )
    assert client.delete(url, headers=owner).status_code == 204
    assert client.get(url, headers=owner).status_code == 404
    with session_scope() as session:
        assert session.get(CourseStaff, (cast.course.id, newcomer.id)) is None
    assert client.delete(url, headers=owner).status_code == 404


def test_the_owner_cannot_be_removed_or_demoted(
    client: Any, make_user: Callable[..., Any], auth_headers: Any
) -> None:
    cast = create_cast(make_user)
    url = f"{API}/courses/{cast.course.id}/staff/{cast.users['owner'].id}"
    before = snapshot()
    for headers in (auth_headers(cast.users["owner"]), auth_headers(cast.users["admin"])):
        demoted = client.put(url, json={"role": "instructor"}, headers=headers)
        assert demoted.status_code == 422
        assert demoted.json()["code"] == "owner_role_fixed"
        removed = client.delete(url, headers=headers)
        assert removed.status_code == 422
        assert removed.json()["code"] == "owner_role_fixed"
    # "owner" is not a role the staff routes give.
    promoted = client.put(
        f"{API}/courses/{cast.course.id}/staff/{cast.users['instructor'].id}",
        json={"role": "owner"},
        headers=auth_headers(cast.users["owner"]),
    )
    assert promoted.status_code == 422
    assert snapshot() == before


def test_bad_staff_requests_change_nothing(
    client: Any, make_user: Callable[..., Any], auth_headers: Any
) -> None:
    cast = create_cast(make_user)
    owner = auth_headers(cast.users["owner"])
    base = f"{API}/courses/{cast.course.id}/staff"
    foreign_cohort = uuid.uuid4()
    before = snapshot()
    cases = [
        (f"{base}/{cast.users['student'].id}", {"role": "instructor"}, 422, "not_an_instructor"),
        (f"{base}/{uuid.uuid4()}", {"role": "instructor"}, 404, "user_not_found"),
        (
            f"{base}/{cast.users['other_instructor'].id}",
            {"role": "teaching_assistant", "cohort_ids": [str(foreign_cohort)]},
            422,
            "cohort_not_in_course",
        ),
        (
            f"{base}/{cast.users['instructor'].id}",
            {"role": "instructor", "cohort_ids": [str(cast.cohort_a)]},
            422,
            "cohorts_for_assistants",
        ),
        (f"{base}/{cast.users['instructor'].id}", {"role": "dean"}, 422, "validation_error"),
        (f"{base}/{cast.users['instructor'].id}", {}, 422, "validation_error"),
    ]
    for url, body, status, code in cases:
        response = client.put(url, json=body, headers=owner)
        assert (response.status_code, response.json()["code"]) == (status, code), body
        if code == "cohort_not_in_course":
            assert str(foreign_cohort) in response.json()["detail"]
    assert snapshot() == before


def test_a_staff_member_sees_the_course_among_their_courses(
    client: Any, make_user: Callable[..., Any], auth_headers: Any
) -> None:
    cast = create_cast(make_user)
    create_course(cast.users["ta_in"], title="Own course of the assistant")
    for actor, expected in (
        ("ta_in", {"Staffed course", "Own course of the assistant"}),
        ("instructor", {"Staffed course"}),
        ("other_instructor", {"Another course"}),
    ):
        mine = client.get(f"{API}/courses/me", headers=auth_headers(cast.users[actor])).json()
        assert {item["title"] for item in mine["items"]} == expected, actor
        assert mine["total"] == len(expected)


def test_a_staff_member_reads_drafts_and_the_instructor_sees_the_roster(
    client: Any, make_user: Callable[..., Any], auth_headers: Any
) -> None:
    cast = create_cast(make_user)
    draft = create_course(cast.users["owner"], published=False, title="Draft")
    with session_scope() as session:
        session.add(
            CourseStaff(
                course_id=draft.id, user_id=cast.users["ta_in"].id, role="teaching_assistant"
            )
        )
    assert (
        client.get(
            f"{API}/courses/{draft.id}", headers=auth_headers(cast.users["ta_in"])
        ).status_code
        == 200
    )
    assert (
        client.get(
            f"{API}/courses/{draft.id}", headers=auth_headers(cast.users["other_instructor"])
        ).status_code
        == 404
    )
    roster = f"{API}/enrollments/courses/{cast.course.id}"
    assert client.get(roster, headers=auth_headers(cast.users["instructor"])).json()["total"] == 3
    assert client.get(roster, headers=auth_headers(cast.users["ta_in"])).status_code == 403


def test_a_staff_role_counts_only_in_its_own_course(
    client: Any, make_user: Callable[..., Any], auth_headers: Any
) -> None:
    """`course_access` reads the viewer's staff role in the same statement as the course: a
    teaching assistant of one draft is a manager there and a stranger to the owner's other
    draft (404, nothing of it shown)."""
    cast = create_cast(make_user)
    staffed = create_course(cast.users["owner"], published=False, title="Staffed draft")
    other = create_course(cast.users["owner"], published=False, title="Other draft")
    with session_scope() as session:
        session.add(
            CourseStaff(
                course_id=staffed.id, user_id=cast.users["ta_out"].id, role="teaching_assistant"
            )
        )
    headers = auth_headers(cast.users["ta_out"])
    mine = client.get(f"{API}/courses/{staffed.id}/outline", headers=headers)
    assert mine.status_code == 200 and mine.json()["enrolled_students"] == 0
    refused = client.get(f"{API}/courses/{other.id}/outline", headers=headers)
    assert refused.status_code == 404 and refused.json()["code"] == "course_not_found"
