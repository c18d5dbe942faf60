"""pylti1p3 as the tool against the platform: its MessageLaunch validates our id_tokens for
resource link and deep linking launches, its deep linking response creates links, and its
AGS and NRPS connectors post scores and read the roster over HTTP."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from fastapi.testclient import TestClient
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem
from pylti1p3.names_roles import NamesRolesProvisioningService

from app.modules.lti import claims as c
from app.modules.users.models import User
from tests.factories import bearer_headers, create_user
from tests.modules.courses.factories import SeededCourse, create_course, create_enrollment
from tests.modules.lti.conftest import Placement, add_section, grade, register_tool, sub_of
from tests.modules.lti.tool import TOOL_LAUNCH, Tool, form_fields


def test_pylti1p3_validates_a_resource_link_launch(
    client: TestClient,
    placed: Placement,
    student: User,
    open_link: Callable[..., dict[str, str]],
) -> None:
    message = placed.tool.launch(open_link(placed, student))
    data = message.get_launch_data()
    assert message.is_resource_launch() and message.check_student_access()
    assert data["sub"] == sub_of(placed.tool, student)
    assert str(student.id) not in data["sub"] and "@" not in data["sub"]
    assert data["aud"] == placed.tool.client_id and data["azp"] == placed.tool.client_id
    assert data[c.ROLES] == [c.ROLE_LEARNER]
    assert data[c.RESOURCE_LINK] == {"id": placed.link["id"], "title": "Practice set"}
    assert data[c.CONTEXT]["id"] == str(placed.course.id)
    assert data[c.DEPLOYMENT_ID] == placed.tool.registered["deployment_id"]
    assert data[c.CUSTOM] == {"platform": "lms", "chapter": "3"}
    assert data[c.TARGET_LINK_URI] == TOOL_LAUNCH
    # Privacy: neither name nor email unless the registration says so.
    assert "name" not in data and "email" not in data
    ags = data[c.AGS_ENDPOINT]
    assert ags["lineitem"].endswith(f"/lineitems/{placed.link['line_item']['id']}")
    assert set(ags["scope"]) == set(c.AGS_SCOPES)
    assert message.has_ags() and message.has_nrps()


def test_instructor_launch_has_the_instructor_role_and_privacy_claims(
    client: TestClient, admin: User, instructor: User, course: SeededCourse, open_link: Callable
) -> None:
    from tests.modules.lti.conftest import add_link

    tool = register_tool(client, admin, send_name=True, send_email=True, scopes=[])
    placement = Placement(tool=tool, course=course, link=add_link(client, instructor, course, tool))
    data = tool.launch(open_link(placement, instructor)).get_launch_data()
    assert data[c.ROLES] == [c.ROLE_INSTRUCTOR]
    assert data["name"] == instructor.full_name and data["email"] == instructor.email
    assert c.AGS_ENDPOINT not in data and c.NRPS_SERVICE not in data


def test_scores_posted_by_pylti1p3_reach_the_gradebook_and_its_csv(
    client: TestClient,
    placed: Placement,
    student: User,
    instructor: User,
    open_link: Callable[..., dict[str, str]],
) -> None:
    message = placed.tool.launch(open_link(placed, student))
    ags = message.get_ags()
    ags.put_grade(grade(message.get_launch_data()["sub"], 7, 10))

    results = ags.get_grades(
        LineItem({"id": message.get_launch_data()[c.AGS_ENDPOINT]["lineitem"]})
    )
    assert [(r["userId"], r["resultScore"], r["resultMaximum"]) for r in results] == [
        (sub_of(placed.tool, student), 14.0, 20.0)
    ]
    book = client.get(
        f"/api/v1/courses/{placed.course.id}/gradebook", headers=bearer_headers(instructor)
    ).json()
    assert [(col["kind"], col["title"]) for col in book["columns"]] == [
        ("lti", "Practice set score")
    ]
    cell = book["items"][0]["grades"][0]
    assert (cell["score"], cell["max_score"], cell["percentage"]) == ("14.00", "20.00", "70.00")
    assert book["items"][0]["course_grade"] == "70.00"
    exported = client.get(
        f"/api/v1/courses/{placed.course.id}/gradebook?format=csv",
        headers=bearer_headers(instructor),
    )
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0][3] == "Practice set score (lti, %)" and rows[1][3] == "70.00"


def test_an_older_score_is_ignored_and_a_pending_one_is_not_graded(
    client: TestClient,
    placed: Placement,
    student: User,
    instructor: User,
    open_link: Callable[..., dict[str, str]],
) -> None:
    ags = placed.tool.launch(open_link(placed, student)).get_ags()
    sub = sub_of(placed.tool, student)
    ags.put_grade(grade(sub, 9, 10, timestamp="2026-12-01T10:00:00.000+00:00"))
    ags.put_grade(grade(sub, 1, 10, timestamp="2026-11-30T10:00:00.000+00:00"))
    url = f"/api/v1/courses/{placed.course.id}/gradebook"
    cell = client.get(url, headers=bearer_headers(instructor)).json()["items"][0]["grades"][0]
    assert cell["percentage"] == "90.00"
    ags.put_grade(grade(sub, 2, 10, timestamp="2026-12-02T10:00:00.000+00:00", grading="Pending"))
    assert client.get(url, headers=bearer_headers(instructor)).json()["items"][0]["grades"] == [
        None
    ]


def test_pylti1p3_reads_the_roster_page_by_page(
    client: TestClient,
    placed: Placement,
    student: User,
    instructor: User,
    open_link: Callable[..., dict[str, str]],
) -> None:
    others = [create_user(role="student", full_name=f"Zed {n}") for n in range(3)]
    for other in others:
        create_enrollment(other, placed.course)
    message = placed.tool.launch(open_link(placed, student))
    members = message.get_nrps().get_members()
    assert [(m["user_id"], m["roles"], m["status"]) for m in members][:2] == [
        (sub_of(placed.tool, instructor), [c.ROLE_INSTRUCTOR], "Active"),
        (sub_of(placed.tool, student), [c.ROLE_LEARNER], "Active"),
    ]
    assert len(members) == 5 and all("email" not in m and "name" not in m for m in members)

    claim = message.get_launch_data()[c.NRPS_SERVICE]
    paged = NamesRolesProvisioningService(
        message.get_service_connector(),
        {**claim, "context_memberships_url": claim["context_memberships_url"] + "?page_size=2"},
    )
    first, next_url = paged.get_members_page()
    assert len(first) == 2 and next_url is not None and "page=2" in next_url
    assert [m["user_id"] for m in paged.get_members()] == [m["user_id"] for m in members]
    learners = NamesRolesProvisioningService(
        message.get_service_connector(),
        {**claim, "context_memberships_url": claim["context_memberships_url"] + "?role=Learner"},
    ).get_members()
    assert {m["user_id"] for m in learners} == {
        sub_of(placed.tool, user) for user in (student, *others)
    }


def test_pylti1p3_deep_linking_response_creates_links(
    client: TestClient, tool: Tool, course: SeededCourse, instructor: User
) -> None:
    labs = add_section(client, instructor, course, "Labs")
    deep_link = f"/api/v1/courses/{course.id}/lti/tools/{tool.registered['id']}/deep-link"
    foreign = create_course(instructor, lessons=0)
    elsewhere = client.get(
        f"/api/v1/courses/{foreign.id}/sections", headers=bearer_headers(instructor)
    ).json()[0]["id"]
    refused = client.get(f"{deep_link}?section_id={elsewhere}", headers=bearer_headers(instructor))
    assert refused.status_code == 404 and refused.json()["code"] == "section_not_found"
    initiation = client.get(f"{deep_link}?section_id={labs}", headers=bearer_headers(instructor))
    assert initiation.status_code == 200, initiation.text
    page = client.get(tool.login(initiation.json()))
    _action, fields = form_fields(page.text)
    message = tool.launch(fields)
    assert message.is_deep_link_launch()
    assert message.get_launch_data()[c.ROLES] == [c.ROLE_INSTRUCTOR]
    resources = [
        DeepLinkResource()
        .set_title("Fractions drill")
        .set_url("https://tool.example/launch?drill=fractions")
        .set_custom_params({"drill": "fractions"})
        .set_lineitem(LineItem().set_score_maximum(50).set_label("Fractions")),
        DeepLinkResource().set_title("Reading"),
    ]
    action, response_form = form_fields(message.get_deep_link().output_response_form(resources))
    answer = client.post(action, data=response_form)
    assert answer.status_code == 201, answer.text
    created = answer.json()["items"]
    assert [(item["title"], item["custom"]) for item in created] == [
        ("Fractions drill", {"drill": "fractions"}),
        ("Reading", {}),
    ]
    assert created[0]["line_item"]["label"] == "Fractions"
    assert created[0]["line_item"]["score_maximum"] == "50.0000"
    assert created[1]["line_item"] is None
    # Each chosen link is an item at the end of the section the launch named.
    sections = client.get(
        f"/api/v1/courses/{course.id}/sections", headers=bearer_headers(instructor)
    ).json()
    [placed_in] = [section for section in sections if section["id"] == labs]
    assert [(i["kind"], i["id"]) for i in placed_in["items"]] == [
        ("lti", created[0]["id"]),
        ("lti", created[1]["id"]),
    ]
    listed = client.get(
        f"/api/v1/courses/{course.id}/lti-links", headers=bearer_headers(instructor)
    )
    assert listed.json()["total"] == 2
    # The same response again is a replay (its nonce was used).
    again = client.post(action, data=response_form)
    assert again.status_code == 401 and again.json()["code"] == "lti_replay"
    assert (
        client.get(
            f"/api/v1/courses/{course.id}/lti-links", headers=bearer_headers(instructor)
        ).json()["total"]
        == 2
    )
