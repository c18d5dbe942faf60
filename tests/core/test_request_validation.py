"""Input the databases would refuse (or the embedded one would silently store) is refused
at the edge with a 422 naming the field: out-of-range pages, NUL characters, non-boolean
values for boolean fields, fields a body does not name. These run on PostgreSQL in the
services pass."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import func, select

from app.core.database import session_scope
from app.core.pagination import MAX_PAGE, MAX_PAGE_SIZE
from app.core.validation import RequestModel
from app.main import create_app
from app.modules.courses.models import Course, Lesson
from app.modules.users.models import User
from tests.core.routes import routes_in_match_order
from tests.modules.courses.factories import create_course, create_enrollment

API = "/api/v1"


def _errors(response: Any) -> list[tuple[list[str], str]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [(error["loc"], error["type"]) for error in response.json()["errors"]]


def test_the_last_page_offset_fits_a_32_bit_integer() -> None:
    assert (MAX_PAGE - 1) * MAX_PAGE_SIZE <= 2**31 - 1


@pytest.mark.parametrize(
    ("path", "who"),
    [
        ("/courses", None),
        ("/enrollments/my-courses", "student"),
        ("/webhooks/endpoints", "admin"),
        ("/payments/my-payments", "student"),
        ("/files/my-files", "student"),
    ],
)
def test_a_page_past_the_maximum_is_refused_naming_it(
    client: TestClient, auth_headers: Any, request: pytest.FixtureRequest, path: str, who: Any
) -> None:
    headers = auth_headers(request.getfixturevalue(who)) if who else {}
    for page in ("1000000000000000000000000000000", "1000000000000", str(MAX_PAGE + 1)):
        response = client.get(f"{API}{path}?page={page}&page_size=100", headers=headers)
        assert _errors(response) == [(["query", "page"], "less_than_equal")]
        assert str(MAX_PAGE) in response.json()["errors"][0]["message"]
    # The last page itself is served: past the data, so empty.
    last = client.get(f"{API}{path}?page={MAX_PAGE}&page_size={MAX_PAGE_SIZE}", headers=headers)
    assert last.status_code == 200, last.text
    assert last.json()["items"] == []


def test_nul_in_a_query_parameter_is_refused_naming_it(
    client: TestClient, student: Any, auth_headers: Any
) -> None:
    assert _errors(client.get(f"{API}/courses?search=a%00b")) == [
        (["query", "search"], "string_contains_nul")
    ]
    response = client.get(f"{API}/files/my-files?mime_type=%00", headers=auth_headers(student))
    assert _errors(response) == [(["query", "mime_type"], "string_contains_nul")]


def test_nul_in_a_header_is_refused_naming_it() -> None:
    """Sent as raw ASGI, since HTTP clients refuse to send such a header themselves."""
    import asyncio

    app = create_app()
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": f"{API}/courses",
        "raw_path": f"{API}/courses".encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"user-agent", b"probe\x00agent")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    assert messages[0]["status"] == 422
    body = b"".join(m.get("body", b"") for m in messages[1:])
    assert b'"loc":["header","user-agent"]' in body


def _lesson_contents(course_id: Any) -> list[str | None]:
    with session_scope() as session:
        return list(session.scalars(select(Lesson.content).where(Lesson.course_id == course_id)))


def test_nul_in_a_body_field_is_refused_and_nothing_is_written(
    client: TestClient, instructor: Any, auth_headers: Any
) -> None:
    course = create_course(instructor, lessons=1)
    before = _lesson_contents(course.id)
    headers = auth_headers(instructor)
    created = client.post(
        f"{API}/courses/{course.id}/lessons",
        json={"title": "Intro\u0000", "content": "a\u0000b"},
        headers=headers,
    )
    assert sorted(_errors(created)) == [
        (["body", "content"], "string_contains_nul"),
        (["body", "title"], "string_contains_nul"),
    ]
    patched = client.patch(
        f"{API}/lessons/{course.lesson_ids[0]}", json={"content": "x\u0000"}, headers=headers
    )
    assert _errors(patched) == [(["body", "content"], "string_contains_nul")]
    assert _lesson_contents(course.id) == before
    # An escaped backslash followed by "u0000" is ordinary text, not a NUL.
    fine = client.patch(
        f"{API}/lessons/{course.lesson_ids[0]}", json={"content": "\\u0000"}, headers=headers
    )
    assert fine.status_code == 200
    assert fine.json()["content"] == "\\u0000"


def _post_choice_question(
    client: TestClient, course: Any, headers: dict[str, str], options: list[dict[str, Any]]
) -> Any:
    """Create a quiz in `course` and post a multiple-choice question with `options` to it."""
    quiz = client.post(f"{API}/courses/{course.id}/quizzes", json={"title": "Q"}, headers=headers)
    assert quiz.status_code == 201, quiz.text
    return client.post(
        f"{API}/courses/{course.id}/quizzes/{quiz.json()['id']}/questions",
        json={
            "question_text": "Pick",
            "question_type": "multiple_choice",
            "options": options,
            "correct_answer": "a",
        },
        headers=headers,
    )


def test_nul_in_a_nested_body_value_names_its_position(
    client: TestClient, instructor: Any, auth_headers: Any
) -> None:
    course = create_course(instructor, lessons=0)
    options = [{"id": "a", "text": "ok"}, {"id": "b", "text": "b\u0000"}]
    response = _post_choice_question(client, course, auth_headers(instructor), options)
    assert _errors(response) == [(["body", "options", "1", "text"], "string_contains_nul")]


def test_anonymous_registration_with_nul_is_refused(client: TestClient) -> None:
    response = client.post(
        f"{API}/auth/register",
        json={"email": "nul@example.com", "password": "Correct-Horse-9", "full_name": "a\u0000b"},
    )
    assert _errors(response) == [(["body", "full_name"], "string_contains_nul")]
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


@pytest.mark.parametrize("value", [0, 1, "true", "false", "yes", 1.0])
def test_boolean_fields_take_json_booleans_only(
    client: TestClient, student: Any, instructor: Any, auth_headers: Any, value: Any
) -> None:
    logout = client.post(
        f"{API}/auth/logout", json={"everywhere": value}, headers=auth_headers(student)
    )
    assert _errors(logout) == [(["body", "everywhere"], "bool_type")]
    course = create_course(instructor, lessons=1)
    lesson = client.patch(
        f"{API}/lessons/{course.lesson_ids[0]}",
        json={"is_preview": value},
        headers=auth_headers(instructor),
    )
    assert _errors(lesson) == [(["body", "is_preview"], "bool_type")]


def test_a_boolean_member_of_a_union_takes_no_numbers(
    client: TestClient, instructor: Any, student: Any, auth_headers: Any
) -> None:
    """An answer may be text, a boolean or a list: 0 is none of them (not `false`)."""
    course = create_course(instructor, lessons=0)
    create_enrollment(student, course)
    headers = auth_headers(instructor)
    quiz = client.post(f"{API}/courses/{course.id}/quizzes", json={"title": "Q"}, headers=headers)
    quiz_id = quiz.json()["id"]
    question = client.post(
        f"{API}/courses/{course.id}/quizzes/{quiz_id}/questions",
        json={"question_text": "Sky is blue", "question_type": "true_false", "correct_answer": 0},
        headers=headers,
    )
    assert _errors(question) == [(["body", "correct_answer"], "bool_type")]


def test_json_booleans_are_accepted(client: TestClient, student: Any, auth_headers: Any) -> None:
    response = client.post(
        f"{API}/auth/logout", json={"everywhere": False}, headers=auth_headers(student)
    )
    assert response.status_code in (200, 204), response.text


def _course_title(course_id: Any) -> str:
    with session_scope() as session:
        return session.get_one(Course, course_id).title


def test_a_field_the_body_does_not_name_is_refused_and_nothing_changes(
    client: TestClient, instructor: Any, auth_headers: Any
) -> None:
    """A misspelt or read-only field is refused at its position rather than dropped, so a
    client never believes it changed what it did not."""
    course = create_course(instructor, lessons=0)
    headers = auth_headers(instructor)
    before = _course_title(course.id)
    patched = client.patch(
        f"{API}/courses/{course.id}",
        json={"title": "Renamed", "is_published": True},
        headers=headers,
    )
    assert _errors(patched) == [(["body", "is_published"], "extra_forbidden")]
    assert _course_title(course.id) == before
    options = [{"id": "a", "text": "ok", "correct": True}, {"id": "b", "text": "b"}]
    question = _post_choice_question(client, course, headers, options)
    assert _errors(question) == [(["body", "options", "0", "correct"], "extra_forbidden")]


@pytest.mark.parametrize("body", [b"{bad", b"\xff\xfe", b'{"title": "x"'])
def test_a_body_that_is_not_json_answers_400_and_changes_nothing(
    client: TestClient, instructor: Any, student: Any, auth_headers: Any, body: bytes
) -> None:
    """Not a field's value but the body itself: 400 `invalid_json`, as every body-taking
    operation documents, on the ordinary routes, the hot single-statement one and the
    anonymous ones alike."""
    course = create_course(instructor, lessons=1)
    enrollment_id = create_enrollment(student, course)
    before = _course_title(course.id)
    json_type = {"Content-Type": "application/json"}
    lesson = course.lesson_ids[0]
    for method, path, headers in [
        ("PATCH", f"{API}/courses/{course.id}", auth_headers(instructor)),
        (
            "PUT",
            f"{API}/enrollments/{enrollment_id}/lessons/{lesson}/progress",
            auth_headers(student),
        ),
        ("POST", f"{API}/auth/register", {}),
    ]:
        answer = client.request(method, path, content=body, headers={**headers, **json_type})
        assert answer.status_code == 400, (path, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        problem = answer.json()
        assert problem["code"] == "invalid_json"
        assert "not valid UTF-8 JSON" in problem["detail"]
    assert _course_title(course.id) == before
    with session_scope() as db:
        assert db.scalar(select(func.count()).select_from(User)) == 2


def _models(annotation: Any) -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()
    for argument in typing.get_args(annotation):
        found |= _models(argument)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.add(annotation)
        for field in annotation.model_fields.values():
            found |= _models(field.annotation)
    return found


def test_every_request_body_model_is_a_request_model() -> None:
    """The strict-boolean and unknown-field rules live in the shared base: every body (and
    every model nested in one) must derive from it."""

    def dependants(dependant: Any) -> Any:
        yield dependant
        for child in dependant.dependencies:
            yield from dependants(child)

    models: set[type[BaseModel]] = set()
    for route in routes_in_match_order(create_app()):
        if not hasattr(route, "dependant"):
            continue
        for dependant in dependants(route.dependant):
            for param in dependant.body_params:
                models |= _models(param.field_info.annotation)
    assert len(models) > 30
    assert sorted(m.__name__ for m in models if not issubclass(m, RequestModel)) == []
    # Only bodies a standard lets carry extension properties accept unknown fields.
    lenient = {m for m in models if m.model_config.get("extra") != "forbid"}
    assert sorted(m.__name__ for m in lenient) == ["LineItemBody", "ScoreBody"]
    assert all(m.__module__ == "app.modules.lti.ags_schemas" for m in lenient)
