"""A registered pylti1p3 tool, a course with a student, and an LTI link between them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pylti1p3.grade import Grade

from app.core.database import session_scope
from app.modules.lti import claims as c
from app.modules.lti import subjects
from app.modules.users.models import User
from tests.factories import bearer_headers
from tests.modules.courses.factories import SeededCourse, create_course, create_enrollment
from tests.modules.lti.tool import TOOL_LAUNCH, TOOL_LOGIN, Tool, public_jwk, tool_keys


def register_tool(
    client: TestClient, admin: User, *, scopes: list[str] | None = None, **fields: Any
) -> Tool:
    keys = tool_keys()
    body = {
        "name": "Practice tool",
        "oidc_initiation_url": TOOL_LOGIN,
        "target_link_uri": TOOL_LAUNCH,
        "redirect_uris": [TOOL_LAUNCH],
        "public_jwk": public_jwk(keys[1]),
        "scopes": list(c.SCOPES) if scopes is None else scopes,
        "custom": {"platform": "lms"},
        **fields,
    }
    response = client.post("/api/v1/lti/tools", json=body, headers=bearer_headers(admin))
    assert response.status_code == 201, response.text
    return Tool(client, response.json(), keys)


@dataclass
class Placement:
    tool: Tool
    course: SeededCourse
    link: dict[str, Any]

    @property
    def launch_url(self) -> str:
        """The launch of the link's section item."""
        return f"/api/v1/courses/{self.course.id}/items/{self.link['item_id']}/launch"


def grade(user_id: str, score: float, maximum: float, **fields: str) -> Grade:
    """A pylti1p3 score for `user_id` (the tool's sub of the user)."""
    return (
        Grade()
        .set_user_id(user_id)
        .set_score_given(score)
        .set_score_maximum(maximum)
        .set_timestamp(fields.get("timestamp", datetime.now(UTC).isoformat()))
        .set_activity_progress(fields.get("activity", "Completed"))
        .set_grading_progress(fields.get("grading", "FullyGraded"))
    )


def sub_of(tool: Tool, user: User) -> str:
    """The `sub` the tool knows the user by."""
    with session_scope() as db:
        return subjects.sub_for(db, tool_id=uuid.UUID(tool.registered["id"]), user_id=user.id)


@pytest.fixture
def tool(client: TestClient, admin: User) -> Tool:
    return register_tool(client, admin)


@pytest.fixture
def course(instructor: User, student: User) -> SeededCourse:
    course = create_course(instructor, lessons=0)
    create_enrollment(student, course)
    return course


def add_link(
    client: TestClient, manager: User, course: SeededCourse, tool: Tool, **fields: Any
) -> dict[str, Any]:
    body = {"tool_id": tool.registered["id"], "title": "Practice set", **fields}
    response = client.post(
        f"/api/v1/courses/{course.id}/lti-links", json=body, headers=bearer_headers(manager)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def add_section(client: TestClient, manager: User, course: SeededCourse, title: str) -> str:
    """A new published section at the end of the course: its id."""
    response = client.post(
        f"/api/v1/courses/{course.id}/sections",
        json={"title": title, "is_published": True},
        headers=bearer_headers(manager),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture
def placed(client: TestClient, instructor: User, course: SeededCourse, tool: Tool) -> Placement:
    link = add_link(
        client,
        instructor,
        course,
        tool,
        custom={"chapter": "3"},
        line_item={"score_maximum": "20", "label": "Practice set score"},
    )
    return Placement(tool=tool, course=course, link=link)


@pytest.fixture
def open_link(client: TestClient) -> Callable[..., dict[str, str]]:
    """Launch a link as `user` through the tool's login: the form posted to the tool."""

    def _open(placement: Placement, user: User) -> dict[str, str]:
        from tests.modules.lti.tool import form_fields

        initiation = client.get(placement.launch_url, headers=bearer_headers(user))
        assert initiation.status_code == 200, initiation.text
        authorization = placement.tool.login(initiation.json())
        page = client.get(authorization)
        assert page.status_code == 200, page.text
        action, fields = form_fields(page.text)
        assert action == TOOL_LAUNCH
        return fields

    return _open
