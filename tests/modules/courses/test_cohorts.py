"""Cohorts: creating, renaming, dating and deleting them, and setting their members in bulk
(all or nothing, moving students between cohorts of a course)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from app.core.database import session_scope
from app.modules.courses.models import CohortMember
from tests.modules.courses.factories import create_enrollment
from tests.modules.courses.staff_factories import create_cast
from tests.modules.courses.test_staff_access_matrix import snapshot

API = "/api/v1"


def _members(cohort_id: uuid.UUID) -> set[uuid.UUID]:
    with session_scope() as session:
        return set(
            session.scalars(
                select(CohortMember.student_id).where(CohortMember.cohort_id == cohort_id)
            )
        )


def test_cohort_lifecycle(client: Any, make_user: Callable[..., Any], auth_headers: Any) -> None:
    cast = create_cast(make_user)
    headers = auth_headers(cast.users["instructor"])
    base = f"{API}/courses/{cast.course.id}/cohorts"
    created = client.post(
        base,
        json={
            "name": "Spring",
            "starts_at": "2027-03-01T00:00:00Z",
            "ends_at": "2027-06-01T00:00:00Z",
        },
        headers=headers,
    )
    assert created.status_code == 201
    cohort = created.json()
    assert (cohort["name"], cohort["member_count"]) == ("Spring", 0)
    listed = client.get(base, headers=headers).json()
    assert [item["name"] for item in listed["items"]] == ["Cohort A", "Cohort B", "Spring"]
    assert [item["member_count"] for item in listed["items"]] == [1, 1, 0]
    renamed = client.patch(
        f"{base}/{cohort['id']}", json={"name": "Spring 27", "ends_at": None}, headers=headers
    )
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["ends_at"]) == ("Spring 27", None)
    assert client.delete(f"{base}/{cohort['id']}", headers=headers).status_code == 204
    assert client.get(f"{base}/{cohort['id']}", headers=headers).status_code == 404


def test_bad_cohort_input_is_refused(
    client: Any, make_user: Callable[..., Any], auth_headers: Any
) -> None:
    cast = create_cast(make_user)
    headers = auth_headers(cast.users["owner"])
    base = f"{API}/courses/{cast.course.id}/cohorts"
    before = snapshot()
    backwards = {
        "name": "X",
        "starts_at": "2027-03-01T00:00:00Z",
        "ends_at": "2027-01-01T00:00:00Z",
    }
    assert client.post(base, json=backwards, headers=headers).status_code == 422
    assert client.post(base, json={"name": ""}, headers=headers).status_code == 422
    assert (
        client.patch(f"{base}/{cast.cohort_a}", json={"name": None}, headers=headers).status_code
        == 422
    )
    assert snapshot() == before
    client.patch(
        f"{base}/{cast.cohort_a}", json={"starts_at": "2027-03-01T00:00:00Z"}, headers=headers
    )
    before = snapshot()
    early_end = client.patch(
        f"{base}/{cast.cohort_a}", json={"ends_at": "2027-01-01T00:00:00Z"}, headers=headers
    )
    assert (early_end.status_code, early_end.json()["code"]) == (422, "cohort_ends_before_start")
    assert snapshot() == before
    # A cohort of another course is not found under this one.
    other = client.post(
        f"{API}/courses/{cast.other_course.id}/cohorts",
        json={"name": "Theirs"},
        headers=auth_headers(cast.users["other_instructor"]),
    ).json()
    before = snapshot()
    for method in ("GET", "PATCH", "DELETE"):
        body = {"name": "Mine"} if method == "PATCH" else None
        response = client.request(method, f"{base}/{other['id']}", json=body, headers=headers)
        assert response.status_code == 404, method
    assert snapshot() == before


def test_setting_members_moves_students_and_drops_the_others(
    client: Any, make_user: Callable[..., Any], auth_headers: Any
) -> None:
    cast = create_cast(make_user)
    url = f"{API}/courses/{cast.course.id}/cohorts/{cast.cohort_a}/members"
    headers = auth_headers(cast.users["owner"])
    body = {"student_ids": [str(cast.student_b.id), str(cast.loose.id), str(cast.loose.id)]}
    response = client.put(url, json=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["member_count"] == 2
    # Bob moved from cohort B; Ann, not named, left cohort A.
    assert _members(cast.cohort_a) == {cast.student_b.id, cast.loose.id}
    assert _members(cast.cohort_b) == set()
    page = client.get(url, params={"page_size": 1}, headers=headers).json()
    assert (page["total"], page["pages"], page["items"][0]["full_name"]) == (2, 2, "Bob B")
    emptied = client.put(url, json={"student_ids": []}, headers=headers)
    assert emptied.json()["member_count"] == 0


def test_one_student_not_enrolled_changes_nothing(
    client: Any, make_user: Callable[..., Any], auth_headers: Any
) -> None:
    cast = create_cast(make_user)
    dropped = make_user(role="student")
    create_enrollment(dropped, cast.course, status="dropped")
    url = f"{API}/courses/{cast.course.id}/cohorts/{cast.cohort_a}/members"
    headers = auth_headers(cast.users["owner"])
    stranger = uuid.uuid4()
    before = snapshot()
    for bad in (cast.users["outsider"].id, stranger, dropped.id):
        ids = [str(cast.student_b.id), str(cast.loose.id), str(bad)]
        response = client.put(url, json={"student_ids": ids}, headers=headers)
        assert response.status_code == 422
        problem = response.json()
        assert problem["code"] == "student_not_enrolled"
        assert problem["student_ids"] == [str(bad)]
        assert str(bad) in problem["detail"]
        assert snapshot() == before


def test_at_most_1000_members_per_request(
    client: Any, make_user: Callable[..., Any], auth_headers: Any
) -> None:
    cast = create_cast(make_user)
    url = f"{API}/courses/{cast.course.id}/cohorts/{cast.cohort_a}/members"
    before = snapshot()
    response = client.put(
        url,
        json={"student_ids": [str(uuid.uuid4()) for _ in range(1001)]},
        headers=auth_headers(cast.users["owner"]),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][-1] == "student_ids"
    assert snapshot() == before
