"""Problem-details format for every error kind, request ids, security headers, envelope."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel

from app.core.errors import Conflict, NotFound
from tests.conftest import PRODUCTION_ENV


def _assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith(code)
    assert body["title"] and body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


class _Payload(BaseModel):
    name: str
    count: int


def _probe_app(env: Any) -> TestClient:
    from app.main import create_app

    app = create_app()
    router = APIRouter()

    @router.get("/probe/not-found")
    def not_found() -> None:
        raise NotFound("Course 42 does not exist")

    @router.get("/probe/conflict")
    def conflict() -> None:
        raise Conflict("Already enrolled", code="already_enrolled")

    @router.post("/probe/validate")
    def validate(payload: _Payload) -> dict[str, str]:
        return {"name": payload.name}

    @router.get("/probe/crash")
    def crash() -> None:
        raise RuntimeError("SELECT secret FROM users -- internal detail")

    @router.get("/probe/ok")
    def ok() -> dict[str, int]:
        return {"value": 1}

    app.include_router(router, prefix="/api/v1")
    return TestClient(app, raise_server_exceptions=False)


def test_unknown_route_is_a_problem_404(client: TestClient) -> None:
    body = _assert_problem(client.get("/api/v1/does-not-exist"), 404, "not_found")
    assert "/api/v1/does-not-exist" in body["detail"]


def test_wrong_method_is_a_problem_405(client: TestClient) -> None:
    _assert_problem(client.delete("/api/v1/health"), 405, "method_not_allowed")


def test_domain_errors_render_their_status_and_code(env: Any) -> None:
    client = _probe_app(env)
    body = _assert_problem(client.get("/api/v1/probe/not-found"), 404, "not_found")
    assert body["detail"] == "Course 42 does not exist"
    _assert_problem(client.get("/api/v1/probe/conflict"), 409, "already_enrolled")


def test_validation_errors_list_each_field(env: Any) -> None:
    client = _probe_app(env)
    response = client.post("/api/v1/probe/validate", json={"count": "many"})
    body = _assert_problem(response, 422, "validation_error")
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"name", "count"}


def test_unhandled_error_is_500_without_internals(env: Any) -> None:
    client = _probe_app(env)
    response = client.get("/api/v1/probe/crash")
    body = _assert_problem(response, 500, "internal_error")
    assert "SELECT" not in response.text
    assert "RuntimeError" not in response.text
    assert "Traceback" not in response.text
    assert body["request_id"]


def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    echoed = client.get("/api/v1/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = client.get("/api/v1/health")
    assert len(generated.headers["x-request-id"]) == 32
    # An unsafe id (header injection attempt) is replaced, not echoed.
    unsafe = client.get("/api/v1/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"


def test_security_headers_on_api_and_docs(client: TestClient) -> None:
    api = client.get("/api/v1/health")
    assert api.headers["x-content-type-options"] == "nosniff"
    assert api.headers["x-frame-options"] == "DENY"
    assert api.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "default-src 'none'" in api.headers["content-security-policy"]
    assert "strict-transport-security" not in api.headers
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "script-src 'self'" in docs.headers["content-security-policy"]


def test_hsts_in_production(env: Any) -> None:
    from app.main import create_app

    env(**PRODUCTION_ENV, RATE_LIMIT_ENABLED="false")
    client = TestClient(create_app())
    response = client.get("/api/v1/health")
    assert "max-age=31536000" in response.headers["strict-transport-security"]


def test_docs_served_without_a_cdn(client: TestClient) -> None:
    page = client.get("/docs").text
    assert "cdn" not in page.lower()
    assert "/static-offline-docs/swagger-ui-bundle.js" in page
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200
    redoc = client.get("/redoc").text
    assert "/static-offline-docs/redoc.standalone.js" in redoc
    assert client.get("/openapi.json").json()["info"]["title"] == "LMS Backend"


def test_untrusted_host_is_refused(client: TestClient) -> None:
    response = client.get("/api/v1/health", headers={"Host": "evil.example.com"})
    _assert_problem(response, 400, "invalid_host")


def test_response_envelope_wraps_success_only(env: Any) -> None:
    env(RESPONSE_ENVELOPE_ENABLED="true")
    client = _probe_app(env)
    wrapped = client.get("/api/v1/probe/ok").json()
    assert wrapped["success"] is True
    assert wrapped["data"] == {"value": 1}
    assert wrapped["message"] == "OK" and wrapped["timestamp"]
    health = client.get("/api/v1/health").json()
    assert "success" not in health
    error = client.get("/api/v1/probe/not-found").json()
    assert "success" not in error and error["status"] == 404


def test_root_names_the_service(client: TestClient) -> None:
    body = client.get("/").json()
    assert body["name"] == "LMS Backend"
    assert body["docs"] == "/docs"


def test_openapi_summaries_come_from_docstrings(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/health"]["get"]
    assert operation["summary"] == "Liveness probe: the process is up."
    assert "description" not in operation


def test_openapi_declares_the_problem_format_for_errors(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    responses = schema["paths"]["/api/v1/courses"]["post"]["responses"]
    for status in ("401", "403", "404", "409", "422", "429"):
        ref = responses[status]["content"]["application/problem+json"]["schema"]["$ref"]
        assert ref.endswith("/Problem")
    problem = schema["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["required"])


def test_an_unreachable_database_answers_503_with_retry_after(
    env: Any, student: Any, auth_headers: Any
) -> None:
    from app.main import create_app

    headers = auth_headers(student)
    # Nothing listens there: every connection attempt is refused at once.
    env(DATABASE_URL="postgresql+psycopg://lms@127.0.0.1:1/lms")
    client = TestClient(create_app(), raise_server_exceptions=False)
    response = client.get("/api/v1/auth/me", headers=headers)
    body = _assert_problem(response, 503, "database_unavailable")
    assert response.headers["retry-after"] == "2"
    assert "127.0.0.1" not in body["detail"]
    assert "psycopg" not in response.text
