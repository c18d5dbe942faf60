"""LTI links as section items of kind `lti`: placed, ordered and released like lessons,
launched at `/courses/{course_id}/items/{item_id}/launch` under the release rule (checked again
when the tool comes back to /lti/authorize), and completed by a fully graded score."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi.testclient import TestClient

from app.core.database import session_scope
from app.modules.courses.models import CourseSection
from app.modules.users.models import User
from tests.factories import bearer_headers
from tests.modules.courses.factories import SeededCourse, create_course
from tests.modules.lti.conftest import Placement, add_link, add_section, grade, sub_of
from tests.modules.lti.tool import Tool


def _sections(client: TestClient, course: SeededCourse, user: User) -> list[dict[str, Any]]:
    answer = client.get(f"/api/v1/courses/{course.id}/sections", headers=bearer_headers(user))
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def _default_section(course: SeededCourse) -> uuid.UUID:
    """The section the course was made with."""
    with session_scope() as db:
        return db.query(CourseSection).filter_by(course_id=course.id, position=0).one().id


def _set_items(
    client: TestClient,
    course: SeededCourse,
    section_id: Any,
    items: list[dict[str, Any]],
    user: User,
) -> Any:
    return client.put(
        f"/api/v1/courses/{course.id}/sections/{section_id}/items",
        json={"items": items},
        headers=bearer_headers(user),
    )


def _lti(link: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"kind": "lti", "id": link["id"], **fields}


def _launch(client: TestClient, placement: Placement, user: User, **headers: str) -> Any:
    return client.get(placement.launch_url, headers={**bearer_headers(user), **headers})


def test_a_link_is_created_as_a_section_item_in_the_issue_shape(
    client: TestClient, instructor: User, course: SeededCourse, tool: Tool
) -> None:
    labs = add_section(client, instructor, course, "Labs")
    link = add_link(
        client,
        instructor,
        course,
        tool,
        kind="lti",
        section_id=labs,
        deployment_id=tool.registered["deployment_id"],
        title="Virtual lab",
        custom={"lab": "optics"},
        line_item={"score_maximum": "10", "label": "Lab score"},
    )
    assert link["kind"] == "lti" and link["section_id"] == labs and link["item_id"]
    assert link["custom"] == {"lab": "optics"} and link["line_item"]["label"] == "Lab score"
    second = add_link(client, instructor, course, tool, section_id=labs, title="Second lab")
    by_id = {section["id"]: section for section in _sections(client, course, instructor)}
    assert [(i["kind"], i["id"], i["title"]) for i in by_id[labs]["items"]] == [
        ("lti", link["id"], "Virtual lab"),
        ("lti", second["id"], "Second lab"),
    ]
    # Ordered and moved like any item.
    default = _default_section(course)
    moved = _set_items(client, course, default, [_lti(second)], instructor)
    assert moved.status_code == 200, moved.text
    assert [i["id"] for i in moved.json()["items"]] == [second["id"]]
    by_id = {section["id"]: section for section in _sections(client, course, instructor)}
    assert [i["id"] for i in by_id[labs]["items"]] == [link["id"]]
    read = client.get(
        f"/api/v1/courses/{course.id}/lti-links/{second['id']}", headers=bearer_headers(instructor)
    )
    assert read.json()["section_id"] == str(default)


def test_a_link_needs_a_section_of_its_course_and_a_known_kind(
    client: TestClient, instructor: User, course: SeededCourse, tool: Tool
) -> None:
    elsewhere = create_course(instructor, lessons=0)
    url = f"/api/v1/courses/{course.id}/lti-links"
    body = {"tool_id": tool.registered["id"], "title": "Lab"}
    foreign = client.post(
        url,
        json={**body, "section_id": str(_default_section(elsewhere))},
        headers=bearer_headers(instructor),
    )
    assert foreign.status_code == 422 and foreign.json()["code"] == "section_not_in_course"
    wrong_kind = client.post(
        url, json={**body, "kind": "lesson"}, headers=bearer_headers(instructor)
    )
    assert wrong_kind.status_code == 422
    listed = client.get(url, headers=bearer_headers(instructor)).json()
    assert listed["total"] == 0  # nothing half-made
    # Another course's link cannot be listed in this course's section.
    other = add_link(client, instructor, elsewhere, tool)
    refused = _set_items(client, course, _default_section(course), [_lti(other)], instructor)
    assert refused.status_code == 422 and refused.json()["code"] == "item_not_in_course"


def test_the_item_launch_answers_json_or_the_strict_auto_submitting_page(
    client: TestClient, placed: Placement, student: User
) -> None:
    initiation = _launch(client, placed, student)
    assert initiation.status_code == 200, initiation.text
    body = initiation.json()
    assert body["url"] == "https://tool.example/login" and body["method"] == "POST"
    assert set(body["params"]) == {
        "iss",
        "login_hint",
        "target_link_uri",
        "lti_message_hint",
        "client_id",
        "lti_deployment_id",
    }
    assert body["params"]["lti_message_hint"] == placed.link["id"]
    page = _launch(client, placed, student, Accept="text/html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    # No such item in this course: not found.
    missing = client.get(
        f"/api/v1/courses/{placed.course.id}/items/{uuid.uuid4()}/launch",
        headers=bearer_headers(student),
    )
    assert missing.status_code == 404 and missing.json()["code"] == "item_not_found"


def test_a_lesson_item_is_not_launched(
    client: TestClient, instructor: User, student: User, tool: Tool
) -> None:
    from tests.modules.courses.factories import create_enrollment

    course = create_course(instructor, lessons=1)
    create_enrollment(student, course)
    [lesson] = _sections(client, course, instructor)[0]["items"]
    answer = client.get(
        f"/api/v1/courses/{course.id}/items/{lesson['item_id']}/launch",
        headers=bearer_headers(student),
    )
    assert answer.status_code == 400 and answer.json()["code"] == "item_not_lti"
    elsewhere = create_course(instructor, lessons=0)
    link = add_link(client, instructor, elsewhere, tool)
    foreign = client.get(
        f"/api/v1/courses/{course.id}/items/{link['item_id']}/launch",
        headers=bearer_headers(instructor),
    )
    assert foreign.status_code == 404


def test_a_locked_item_is_refused_at_launch_and_again_at_authorize(
    client: TestClient, placed: Placement, student: User, instructor: User
) -> None:
    section = _default_section(placed.course)
    # Initiated while open...
    initiation = _launch(client, placed, student).json()
    query = parse_qs(urlsplit(placed.tool.login(initiation)).query)
    params = {key: values[0] for key, values in query.items()}
    # ...then locked before the tool comes back.
    opens = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    locked = _set_items(
        client,
        placed.course,
        section,
        [_lti(placed.link, available_from=opens.isoformat())],
        instructor,
    )
    assert locked.status_code == 200, locked.text
    for answer in (
        _launch(client, placed, student),
        client.get("/api/v1/lti/authorize?" + urlencode(params)),
    ):
        assert answer.status_code == 403, answer.text
        problem = answer.json()
        assert problem["code"] == "item_locked"
        assert [r["reason"] for r in problem["reasons"]] == ["not_yet_available"]
        assert datetime.fromisoformat(problem["unlock_at"]) == opens
    # Managers open it whatever the rule says.
    assert _launch(client, placed, instructor).status_code == 200
    # Closed: the same refusal with its own reason.
    closed = _set_items(
        client,
        placed.course,
        section,
        [
            _lti(
                placed.link,
                available_from=(datetime.now(UTC) - timedelta(days=3)).isoformat(),
                available_until=(datetime.now(UTC) - timedelta(days=1)).isoformat(),
            )
        ],
        instructor,
    )
    assert closed.status_code == 200, closed.text
    answer = _launch(client, placed, student)
    assert answer.status_code == 403 and answer.json()["reasons"][0]["reason"] == "closed"


def test_a_draft_link_or_an_unpublished_section_is_not_found_for_students(
    client: TestClient, placed: Placement, student: User, instructor: User
) -> None:
    link_url = f"/api/v1/courses/{placed.course.id}/lti-links/{placed.link['id']}"
    draft = client.patch(link_url, json={"is_published": False}, headers=bearer_headers(instructor))
    assert draft.status_code == 200 and draft.json()["is_published"] is False
    assert _launch(client, placed, student).status_code == 404
    assert _launch(client, placed, instructor).status_code == 200
    items = _sections(client, placed.course, student)[0]["items"]
    assert items == []  # a student's structure leaves drafts out
    client.patch(link_url, json={"is_published": True}, headers=bearer_headers(instructor))
    assert _launch(client, placed, student).status_code == 200
    section = _default_section(placed.course)
    hidden = client.patch(
        f"/api/v1/courses/{placed.course.id}/sections/{section}",
        json={"is_published": False},
        headers=bearer_headers(instructor),
    )
    assert hidden.status_code == 200, hidden.text
    assert _launch(client, placed, student).status_code == 404


def test_a_fully_graded_score_completes_the_item_and_opens_what_waits_for_it(
    client: TestClient,
    placed: Placement,
    student: User,
    instructor: User,
    open_link: Callable[..., dict[str, str]],
) -> None:
    section = _default_section(placed.course)
    after = add_link(client, instructor, placed.course, placed.tool, title="Next set")
    needs = {"prerequisites": [{"kind": "lti", "id": placed.link["id"], "min_score_percent": 60}]}
    answer = _set_items(
        client, placed.course, section, [_lti(placed.link), _lti(after, **needs)], instructor
    )
    assert answer.status_code == 200, answer.text
    waiting = Placement(tool=placed.tool, course=placed.course, link=after)
    refused = _launch(client, waiting, student)
    assert refused.status_code == 403 and refused.json()["reasons"][0]["reason"] == "prerequisite"
    outline_url = f"/api/v1/courses/{placed.course.id}/outline"

    def states() -> list[str]:
        body = client.get(outline_url, headers=bearer_headers(student)).json()
        return [item["state"] for item in body["sections"][0]["items"]]

    assert states() == ["open", "locked"]
    ags = placed.tool.launch(open_link(placed, student)).get_ags()
    sub = sub_of(placed.tool, student)
    ags.put_grade(grade(sub, 1, 10, activity="Started", grading="Pending"))
    assert states() == ["in_progress", "locked"]
    # The activity completed, not graded yet: completed, but no score to reach 60 % with.
    ags.put_grade(grade(sub, 1, 10, grading="Pending"))
    assert states() == ["completed", "locked"]
    # Graded, but below the prerequisite's 60 %: completed, still not enough.
    ags.put_grade(grade(sub, 5, 10))
    assert states() == ["completed", "locked"]
    assert _launch(client, waiting, student).status_code == 403
    ags.put_grade(grade(sub, 7, 10))
    assert states() == ["completed", "open"]
    assert _launch(client, waiting, student).status_code == 200
    managers = client.get(outline_url, headers=bearer_headers(instructor)).json()
    assert [i["completed_count"] for i in managers["sections"][0]["items"]] == [1, 0]
