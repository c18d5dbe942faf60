"""The ids tools see (one opaque, stable `sub` per tool and user, the same in launches, NRPS
and AGS) and the IMS `limit` paging of the AGS and NRPS containers."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from app.modules.lti import claims as c
from app.modules.users.models import User
from tests.factories import bearer_headers, create_user
from tests.modules.courses.factories import create_enrollment
from tests.modules.lti.conftest import Placement, add_link, register_tool, sub_of
from tests.modules.lti.test_security import _service_token

SCORE = {
    "scoreGiven": 3,
    "scoreMaximum": 4,
    "activityProgress": "Completed",
    "gradingProgress": "FullyGraded",
    "timestamp": "2026-12-01T10:00:00Z",
}


def _next(answer: Any) -> str | None:
    found = re.search(r'<([^>]*)>; rel="next"', answer.headers["link"])
    return found.group(1) if found else None


def test_two_tools_know_one_learner_by_different_stable_subs(
    client: TestClient,
    placed: Placement,
    admin: User,
    instructor: User,
    student: User,
    open_link: Callable[..., dict[str, str]],
) -> None:
    other_tool = register_tool(client, admin)
    other = Placement(
        tool=other_tool,
        course=placed.course,
        link=add_link(
            client, instructor, placed.course, other_tool, line_item={"score_maximum": "4"}
        ),
    )
    first = placed.tool.launch(open_link(placed, student)).get_launch_data()["sub"]
    again = placed.tool.launch(open_link(placed, student)).get_launch_data()["sub"]
    elsewhere = other_tool.launch(open_link(other, student)).get_launch_data()["sub"]
    assert first == again and first != elsewhere
    assert str(student.id) not in (first, elsewhere)
    # NRPS names members by the same per-tool sub.
    members = f"/api/v1/lti/contexts/{placed.course.id}/memberships?role=Learner"
    for placement, sub in ((placed, first), (other, elsewhere)):
        answer = client.get(members, headers=_service_token(client, placement.tool, c.SCOPE_NRPS))
        assert [m["user_id"] for m in answer.json()["members"]] == [sub]
    # AGS maps userId back with the same rule: one tool's sub means nothing to another.
    line_item = other.link["line_item"]["id"]
    url = f"/api/v1/lti/contexts/{placed.course.id}/lineitems/{line_item}"
    headers = _service_token(client, other_tool, f"{c.SCOPE_SCORE} {c.SCOPE_RESULT_READONLY}")
    borrowed = client.post(f"{url}/scores", json={**SCORE, "userId": first}, headers=headers)
    assert borrowed.status_code == 422 and borrowed.json()["code"] == "lti_user_not_enrolled"
    own = client.post(f"{url}/scores", json={**SCORE, "userId": elsewhere}, headers=headers)
    assert own.status_code == 204, own.text
    results = client.get(f"{url}/results", headers=headers).json()
    assert [r["userId"] for r in results] == [elsewhere]
    assert results[0]["id"].endswith(f"/results/{elsewhere}")
    only = client.get(f"{url}/results?user_id={elsewhere}", headers=headers).json()
    assert len(only) == 1
    assert client.get(f"{url}/results?user_id={first}", headers=headers).json() == []


def test_line_items_results_and_members_page_by_limit(
    client: TestClient, placed: Placement, instructor: User, student: User
) -> None:
    course_id = placed.course.id
    scopes = f"{c.SCOPE_LINEITEM} {c.SCOPE_SCORE} {c.SCOPE_RESULT_READONLY} {c.SCOPE_NRPS}"
    headers = _service_token(client, placed.tool, scopes)
    container = f"http://testserver/api/v1/lti/contexts/{course_id}/lineitems"
    for label in ("Second", "Third"):
        made = client.post(container, json={"label": label, "scoreMaximum": 5}, headers=headers)
        assert made.status_code == 201, made.text
    page = client.get(f"{container}?limit=2", headers=headers)
    assert page.status_code == 200 and len(page.json()) == 2
    following = _next(page)
    assert following is not None and "limit=2" in following and "page=2" in following
    rest = client.get(following, headers=headers)
    assert [item["label"] for item in rest.json()] == ["Third"] and _next(rest) is None
    everything = [i["label"] for i in page.json() + rest.json()]
    assert everything == ["Practice set score", "Second", "Third"]

    learners = [student, *(create_user(role="student") for _ in range(2))]
    for learner in learners[1:]:
        create_enrollment(learner, placed.course)
    scores = f"{container}/{placed.link['line_item']['id']}"
    for learner in learners:
        body = {**SCORE, "userId": sub_of(placed.tool, learner)}
        assert client.post(f"{scores}/scores", json=body, headers=headers).status_code == 204
    first = client.get(f"{scores}/results?limit=2", headers=headers)
    following = _next(first)
    assert len(first.json()) == 2 and following is not None
    second = client.get(following, headers=headers)
    assert len(second.json()) == 1 and _next(second) is None
    seen = {r["userId"] for r in first.json() + second.json()}
    assert seen == {sub_of(placed.tool, learner) for learner in learners}

    members = f"http://testserver/api/v1/lti/contexts/{course_id}/memberships?limit=3"
    roster = client.get(members, headers=headers)
    following = _next(roster)
    assert len(roster.json()["members"]) == 3 and following is not None
    assert len(client.get(following, headers=headers).json()["members"]) == 1
    for bad in ("0", "101", "x"):
        refused = client.get(f"{container}?limit={bad}", headers=headers)
        assert refused.status_code == 422 and refused.json()["code"] == "validation_error"


def test_an_erased_learner_is_no_longer_known_to_tools(
    client: TestClient, placed: Placement, admin: User, student: User
) -> None:
    sub = sub_of(placed.tool, student)
    url = f"/api/v1/lti/contexts/{placed.course.id}/lineitems/{placed.link['line_item']['id']}"
    headers = _service_token(client, placed.tool, f"{c.SCOPE_SCORE} {c.SCOPE_RESULT_READONLY}")
    scored = {**SCORE, "userId": sub, "comment": "Struggled with fractions"}
    assert client.post(f"{url}/scores", json=scored, headers=headers).status_code == 204
    assert client.get(f"{url}/results", headers=headers).json()[0]["comment"]
    erased = client.post(
        f"/api/v1/users/{student.id}/erase", json={"reason": "asked"}, headers=bearer_headers(admin)
    )
    assert erased.status_code == 200, erased.text
    assert erased.json()["summary"]["lti"] == 2
    [result] = client.get(f"{url}/results", headers=headers).json()
    assert "comment" not in result and result["userId"] != sub
    later = client.post(f"{url}/scores", json={**SCORE, "userId": sub}, headers=headers)
    assert later.status_code == 422 and later.json()["code"] == "lti_user_not_enrolled"
