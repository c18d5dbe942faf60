"""The OpenAPI document describes what the API answers: problem responses, their statuses,
the `Allow` header of a 405, and request schemas as strict as the validation behind them."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from app.core.decimals import DecimalString
from app.core.errors import Problem
from app.modules.users.service import password_problems

API = "/api/v1"
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    from app.cli.apidocs import load_openapi

    return load_openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_every_error_response_is_a_problem_document(document: dict[str, Any]) -> None:
    checked = 0
    # Readiness has its own body; the LTI token endpoint refuses as OAuth 2 says (RFC 6749).
    oauth = {"application/json": {"schema": {"$ref": "#/components/schemas/OAuthErrorAnswer"}}}
    own = {(f"{API}/lti/token", "400"): oauth, (f"{API}/lti/token", "401"): oauth}
    for path, method, operation in _operations(document):
        for status, response in operation["responses"].items():
            if status[0] in "45" and path != f"{API}/ready":
                expected = own.get((path, status), PROBLEM)
                assert response["content"] == expected, (method, path, status)
                checked += 1
    assert checked > 500
    fields = document["components"]["schemas"]["FieldError"]
    assert fields["required"] == ["message"]
    assert "errors" in document["components"]["schemas"]["Problem"]["properties"]


def test_every_operation_with_a_body_documents_the_400_for_an_unparsable_one(
    document: dict[str, Any], client: TestClient
) -> None:
    with_body = [op for _, _, op in _operations(document) if "requestBody" in op]
    assert len(with_body) > 40
    assert all("400" in operation["responses"] for operation in with_body)
    answer = client.post(
        f"{API}/auth/login",
        content=b'{"email": "\xff"}',
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    Problem.model_validate(answer.json())


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("post", "/auth/refresh", "400"),
        ("post", "/auth/reset-password", "400"),
        ("post", "/auth/verify-email/confirm", "400"),
        ("post", "/auth/login", "423"),
        ("post", "/auth/token", "423"),
        ("post", "/auth/login/mfa", "423"),
        ("post", "/payments/webhooks/{gateway}", "400"),
        ("post", "/payments/webhooks/{gateway}", "413"),
        ("post", "/files/upload", "413"),
        ("post", "/files/upload", "415"),
        ("get", "/files/signed/{token}", "410"),
    ],
)
def test_route_specific_problems_are_documented(
    document: dict[str, Any], method: str, path: str, status: str
) -> None:
    response = document["paths"][API + path][method]["responses"][status]
    assert response["content"] == PROBLEM
    assert "unparsable" not in response["description"].lower()


def test_a_resumed_attempt_documents_its_200(document: dict[str, Any]) -> None:
    responses = document["paths"][f"{API}/quizzes/{{quiz_id}}/attempts"]["post"]["responses"]
    for status in ("200", "201"):
        schema = responses[status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/AttemptRead"}


def test_a_refused_refresh_matches_what_is_documented(
    document: dict[str, Any], client: TestClient
) -> None:
    answer = client.post(f"{API}/auth/refresh", json={})
    assert answer.status_code == 400
    assert "400" in document["paths"][f"{API}/auth/refresh"]["post"]["responses"]
    assert answer.headers["content-type"] == "application/problem+json"
    assert Problem.model_validate(answer.json()).code == "refresh_token_missing"


def test_business_rule_field_errors_match_the_problem_schema(client: TestClient) -> None:
    answer = client.post(
        f"{API}/auth/register",
        json={"email": "weak@example.com", "password": "short", "full_name": "Weak"},
    )
    assert answer.status_code == 422
    problem = Problem.model_validate(answer.json())
    assert problem.errors and {error.field for error in problem.errors} == {"password"}


# --- 405 and Allow -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/users/me", {"GET", "PATCH"}),
        ("OPTIONS", "/users/me", {"GET", "PATCH"}),
        ("PUT", "/courses", {"GET", "POST"}),
        ("PUT", "/courses/00000000-0000-0000-0000-000000000001", {"GET", "PATCH", "DELETE"}),
    ],
)
def test_405_lists_every_method_served_at_the_path(
    client: TestClient, document: dict[str, Any], method: str, path: str, allowed: set[str]
) -> None:
    answer = client.request(method, API + path)
    assert answer.status_code == 405
    assert answer.headers["content-type"] == "application/problem+json"
    advertised = {m.strip() for m in answer.headers["allow"].split(",")}
    assert allowed <= advertised
    template = re.sub(r"/0{8}-[0-9-]+$", "/{course_id}", API + path)
    documented = {m.upper() for m in document["paths"][template]}
    assert documented <= advertised


# --- request schemas as strict as their validation ----------------------------------------


class _Amounts(BaseModel):
    price: Annotated[Decimal, DecimalString(whole_digits=8)]
    points: Annotated[Decimal, DecimalString(whole_digits=3, inclusive=True, positive=True)]


def _property(name: str) -> dict[str, Any]:
    prop: dict[str, Any] = _Amounts.model_json_schema()["properties"][name]
    return prop


@settings(max_examples=60, suppress_health_check=list(HealthCheck), deadline=None)
@given(
    price=st.from_regex(_property("price")["pattern"], fullmatch=True),
    points=st.from_regex(_property("points")["pattern"], fullmatch=True),
)
def test_every_decimal_the_document_allows_is_accepted(price: str, points: str) -> None:
    _Amounts.model_validate({"price": price, "points": points})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("price", ""),
        ("price", "-1"),
        ("price", "0.001"),
        ("price", "100000000"),
        ("points", "0"),
        ("points", "0.00"),
        ("points", "1000.01"),
    ],
)
def test_decimals_the_document_refuses_are_refused(name: str, value: str) -> None:
    assert re.fullmatch(_property(name)["pattern"], value) is None
    fields = {"price": "1", "points": "1", name: value}
    with pytest.raises(ValidationError):
        _Amounts.model_validate(fields)


def test_decimal_inputs_in_the_document_carry_a_pattern(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for model, field in (
        ("CourseCreate", "price"),
        ("GradeIn", "grade"),
        ("PlanCreate", "price"),
        ("AssignmentCreate", "max_points"),
        ("QuizCreate", "passing_score"),
        ("QuestionCreate", "points"),
    ):
        prop = schemas[model]["properties"][field]
        assert prop["type"] == "string" and prop["pattern"], (model, field)
        assert re.fullmatch(prop["pattern"], "") is None


@settings(max_examples=40, suppress_health_check=list(HealthCheck), deadline=None)
@given(data=st.data())
def test_every_new_password_the_document_allows_passes_the_policy(data: Any) -> None:
    from app.modules.auth.schemas import RegisterRequest

    pattern = RegisterRequest.model_json_schema()["properties"]["password"]["pattern"]
    password = data.draw(st.from_regex(pattern, fullmatch=True))
    assert password_problems(password, "someone@example.com") == []


def test_update_fields_that_refuse_null_are_not_nullable_in_the_document(
    document: dict[str, Any], client: TestClient, instructor: Any, auth_headers: Any
) -> None:
    course = document["components"]["schemas"]["CourseUpdate"]["properties"]
    assert "anyOf" not in course["title"] and course["title"]["type"] == "string"
    assert {"type": "null"} in course["description"]["anyOf"]
    headers = auth_headers(instructor)
    created = client.post(f"{API}/courses", json={"title": "Algebra"}, headers=headers).json()
    refused = client.patch(f"{API}/courses/{created['id']}", json={"title": None}, headers=headers)
    assert refused.status_code == 422
    cleared = client.patch(
        f"{API}/courses/{created['id']}", json={"description": None}, headers=headers
    )
    assert cleared.status_code == 200 and cleared.json()["description"] is None
    assert client.get(f"{API}/courses/{created['id']}", headers=headers).json()["title"] == (
        "Algebra"
    )
