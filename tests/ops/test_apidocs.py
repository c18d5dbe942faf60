"""`lms postman` and `lms docs` cover every route of the application's OpenAPI schema."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.cli.apidocs import SchemaWalker, build_markdown, load_openapi, operations
from app.cli.postman import (
    COLLECTION_FILE,
    DEMO_COLLECTION_FILE,
    DEMO_ENVIRONMENT_FILE,
    ENVIRONMENT_FILE,
    build_collection,
    build_demo_collection,
    build_environment,
    expected_fields,
)

VARIABLE = re.compile(r"\{\{([^}]+)\}\}")


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return load_openapi()


def requests_of(collection: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for folder in collection["item"] for item in folder["item"]]


def find(collection: dict[str, Any], method: str, path_end: str) -> dict[str, Any]:
    for item in requests_of(collection):
        raw = item["request"]["url"]["raw"].split("?")[0]
        if item["request"]["method"] == method and raw.endswith(path_end):
            return item
    raise AssertionError(f"{method} {path_end} is not in the collection")


def _openapi_path(url: dict[str, Any]) -> str:
    """The OpenAPI path a Postman request URL stands for (":name" and "{{name}}" -> "{name}")."""
    return "/" + "/".join(
        VARIABLE.sub(r"{\1}", re.sub(r"^:(.+)$", r"{\1}", segment)) for segment in url["path"]
    )


def test_every_operation_is_one_request_in_its_tag_folder(openapi: dict[str, Any]) -> None:
    collection = build_collection(openapi)
    expected = {(method.upper(), path) for path, method, _ in operations(openapi)}
    seen = set()
    for folder in collection["item"]:
        for item in folder["item"]:
            path = _openapi_path(item["request"]["url"])
            seen.add((item["request"]["method"], path))
            operation = openapi["paths"][path][item["request"]["method"].lower()]
            assert folder["name"] == operation["tags"][0]
    assert seen == expected
    assert len(requests_of(collection)) == len(expected)


def test_bearer_auth_is_set_once_for_the_collection(openapi: dict[str, Any]) -> None:
    collection = build_collection(openapi)
    assert collection["auth"]["bearer"][0]["value"] == "{{access_token}}"
    health = find(collection, "GET", "/api/v1/health")
    assert health["request"]["auth"] == {"type": "noauth"}
    me = find(collection, "GET", "/api/v1/users/me")
    assert "auth" not in me["request"]  # inherits the collection's bearer token


def test_login_request_stores_the_tokens(openapi: dict[str, Any]) -> None:
    login = find(build_collection(openapi), "POST", "/api/v1/auth/login")
    body = json.loads(login["request"]["body"]["raw"])
    assert body == {"email": "{{email}}", "password": "{{password}}"}
    script = "\n".join(login["event"][0]["script"]["exec"])
    assert "pm.collectionVariables.set('access_token', body.access_token)" in script
    assert "refresh_token" in script


def test_path_variables_and_examples(openapi: dict[str, Any]) -> None:
    collection = build_collection(openapi)
    course = find(collection, "GET", "/api/v1/courses/:course_id")
    assert course["request"]["url"]["variable"] == [{"key": "course_id", "value": "{{course_id}}"}]
    created = find(collection, "POST", "/api/v1/courses")
    assert created["response"][0]["code"] == 201
    token = find(collection, "POST", "/api/v1/auth/token")
    assert token["request"]["body"]["mode"] == "urlencoded"


def test_every_variable_is_defined_by_the_environment(openapi: dict[str, Any]) -> None:
    collection = build_collection(openapi)
    environment = build_environment(openapi, name="x", base_url="http://127.0.0.1:8000")
    defined = {value["key"] for value in environment["values"]}
    defined |= {variable["key"] for variable in collection["variable"]}
    used = set(VARIABLE.findall(json.dumps(collection)))
    assert used - defined == set()
    base = next(v for v in environment["values"] if v["key"] == "base_url")
    assert base["value"] == "http://127.0.0.1:8000"


def test_postman_command_is_deterministic_and_follows_the_served_address(
    tmp_path: Path, env: Any
) -> None:
    env(PUBLIC_BASE_URL="", PORT="9123")
    assert main(["postman", "--output-dir", str(tmp_path)]) == 0
    first = (tmp_path / COLLECTION_FILE).read_bytes()
    assert main(["postman", "--output-dir", str(tmp_path)]) == 0
    assert (tmp_path / COLLECTION_FILE).read_bytes() == first
    assert (tmp_path / DEMO_COLLECTION_FILE).exists()
    # The demo environment holds one installation's ids: only `lms seed-demo` writes it.
    assert not (tmp_path / DEMO_ENVIRONMENT_FILE).exists()
    local = json.loads((tmp_path / ENVIRONMENT_FILE).read_text())
    values = {v["key"]: v["value"] for v in local["values"]}
    assert values["base_url"] == "http://127.0.0.1:9123"
    assert main(["postman", "--output-dir", str(tmp_path), "--base-url", "https://x.test"]) == 0
    local = json.loads((tmp_path / ENVIRONMENT_FILE).read_text())
    assert {v["key"]: v["value"] for v in local["values"]}["base_url"] == "https://x.test"


def test_every_request_of_both_collections_asserts_its_status_and_fields(
    openapi: dict[str, Any],
) -> None:
    walker = SchemaWalker(openapi)
    demo = build_demo_collection(openapi)["item"]
    for item in requests_of(build_collection(openapi)) + demo:
        script = "\n".join(item["event"][0]["script"]["exec"])
        status = item["response"][0]["code"]
        assert f"pm.response.to.have.status({status});" in script, item["name"]
        path = _openapi_path(item["request"]["url"])
        operation = openapi["paths"][path][item["request"]["method"].lower()]
        fields = expected_fields(walker, operation, status)
        if status >= 400:
            assert f"pm.expect(pm.response.json().status).to.equal({status});" in script
        elif fields:
            keys = ", ".join(f"'{name}'" for name in fields)
            assert f".to.include.keys({keys});" in script, item["name"]
    # The demo journey checks fields of most answers, not only statuses.
    checked = [i for i in demo if "include.keys" in json.dumps(i["event"])]
    assert len(checked) > len(demo) // 2


def test_committed_collection_is_current(openapi: dict[str, Any]) -> None:
    committed = Path(__file__).resolve().parents[2] / "postman" / COLLECTION_FILE
    if not committed.exists():
        pytest.fail("postman/ has no collection: run `lms postman`")
    assert json.loads(committed.read_text()) == build_collection(openapi), (
        "postman/ is stale: run `lms postman`"
    )


def test_markdown_reference_lists_every_route(openapi: dict[str, Any], tmp_path: Path) -> None:
    text = build_markdown(openapi)
    for path, method, _ in operations(openapi):
        assert f"### `{method.upper()} {path}`" in text
    assert "bearer token required" in text and "Authentication: none." in text
    output = tmp_path / "API.md"
    assert main(["docs", "--output", str(output)]) == 0
    assert output.read_text() == text


def test_committed_demo_collection_is_current(openapi: dict[str, Any]) -> None:
    committed = Path(__file__).resolve().parents[2] / "postman" / DEMO_COLLECTION_FILE
    assert json.loads(committed.read_text()) == build_demo_collection(openapi), (
        "postman/ is stale: run `lms postman`"
    )


def test_demo_journey_uses_one_token_per_role(openapi: dict[str, Any]) -> None:
    collection = build_demo_collection(openapi)
    logins = [i for i in collection["item"] if i["request"]["url"]["raw"].endswith("auth/login")]
    assert len(logins) == 3
    scripts = "\n".join("\n".join(i["event"][0]["script"]["exec"]) for i in logins)
    for role in ("student", "instructor", "admin"):
        assert f"pm.collectionVariables.set('{role}_access_token'" in scripts
    anonymous = [i for i in collection["item"] if i["name"].startswith("anonymous")]
    assert anonymous and all(i["request"]["auth"] == {"type": "noauth"} for i in anonymous)
    signed_in = [i for i in collection["item"] if i not in anonymous and i not in logins]
    for item in signed_in:
        (token,) = item["request"]["auth"]["bearer"]
        assert token["value"] == "{{" + item["name"].split(":")[0] + "_access_token}}"


def test_openapi_command_writes_the_served_schema(client: Any, tmp_path: Path) -> None:
    output = tmp_path / "openapi.json"
    assert main(["openapi", "--output", str(output)]) == 0
    written = json.loads(output.read_text())
    assert written == client.get("/openapi.json").json()
    # Summaries come from the endpoints' docstrings, not from their function names.
    assert written["paths"]["/"]["get"]["summary"] == (
        "Service name, version and where the documentation lives."
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/auth/login/mfa"),
        ("post", "/api/v1/auth/mfa/enable/confirm"),
        ("post", "/api/v1/auth/mfa/disable"),
        ("post", "/api/v1/auth/firebase"),
        ("post", "/api/v1/enrollments"),
        ("post", "/api/v1/files/upload"),
        ("post", "/api/v1/payments/create-payment-intent"),
        ("post", "/api/v1/payments/create-subscription"),
        ("post", "/api/v1/payments/{payment_id}/refund"),
        ("post", "/api/v1/payments/{payment_id}/reconcile"),
    ],
)
def test_routes_that_depend_on_an_outside_service_document_503(
    openapi: dict[str, Any], method: str, path: str
) -> None:
    answer = openapi["paths"][path][method]["responses"]["503"]
    schema = answer["content"]["application/problem+json"]["schema"]
    assert schema["$ref"].endswith("/Problem"), answer


def test_schema_says_a_choice_answer_is_an_option_id(openapi: dict[str, Any]) -> None:
    question = openapi["components"]["schemas"]["QuestionCreate"]
    answer = question["properties"]["correct_answer"]
    assert "`id` of the right option" in answer["description"]
    (example,) = question["examples"]
    assert example["correct_answer"] in {option["id"] for option in example["options"]}
    # The collection's example body follows the schema's example.
    collection = build_collection(openapi)
    create = find(collection, "POST", "/api/v1/courses/:course_id/quizzes/:quiz_id/questions")
    assert json.loads(create["request"]["body"]["raw"])["correct_answer"] == "median"
