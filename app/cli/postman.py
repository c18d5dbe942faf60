"""`lms postman`: a Postman collection of every route, a demo-journey collection and the
local environment, generated from the application's OpenAPI schema (`postman/` holds the
committed output).

The collection groups requests by tag and authenticates with a collection-level bearer token
(`{{access_token}}`); the login, token and refresh requests store the tokens they receive.
Every request's test script asserts the status of its example response (the documented
success, or in the demo journey the status that step must get) and a field or two of the
answer, so a run with newman fails when the API answers otherwise. The demo environment holds
one installation's ids: `lms seed-demo` writes it under VAR_DIR, never into `postman/`.
"""

from __future__ import annotations

import argparse
import json
import re
import uuid
from http import HTTPStatus
from pathlib import Path
from typing import Any

from app.cli.apidocs import (
    SchemaWalker,
    is_authenticated,
    load_openapi,
    operations,
    success_status,
)

POSTMAN_SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
COLLECTION_FILE = "lms.postman_collection.json"
ENVIRONMENT_FILE = "lms.postman_environment.json"
DEMO_ENVIRONMENT_FILE = "lms-demo.postman_environment.json"
DEMO_COLLECTION_FILE = "lms-demo.postman_collection.json"
# Stable ids: regenerating an unchanged API gives byte-identical files.
_NAMESPACE = uuid.UUID("0f8c3c2e-5d1a-4a59-9b7e-3f2d6c1a9e40")
_PATH_PARAM = re.compile(r"\{([^{}]+)\}")
_VARIABLE = re.compile(r"\{\{([^{}]+)\}\}")
# Requests that answer with tokens; their test script stores them in collection variables.
TOKEN_PATHS = ("/auth/login", "/auth/token", "/auth/refresh", "/auth/login/mfa")


def register(subparsers: Any) -> None:
    postman = subparsers.add_parser("postman")
    postman.add_argument("--output-dir", default="postman", help="folder (default postman/)")
    postman.add_argument(
        "--base-url",
        default=None,
        help="base_url of the local environment (default: PUBLIC_BASE_URL, else http://HOST:PORT)",
    )
    postman.set_defaults(handler=postman_command)


def expected_fields(walker: SchemaWalker, operation: dict[str, Any], status: int) -> list[str]:
    """Up to two top-level fields the documented answer of `status` always has."""
    response = operation.get("responses", {}).get(str(status), {})
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return []
    properties = list(walker.non_null(schema).get("properties", {}))
    required = [name for name in walker.non_null(schema).get("required", []) if name in properties]
    return (required or properties)[:2]


def _test_event(
    walker: SchemaWalker, path: str, operation: dict[str, Any], status: int, prefix: str = ""
) -> dict[str, Any]:
    """The request's test script: the expected status, then a field or two of the answer (the
    problem's `status` and `title` for a refusal); token answers store their tokens."""
    lines = [
        f"pm.test('answers {status}', function () {{",
        f"    pm.response.to.have.status({status});",
        "});",
    ]
    if status >= 400:
        lines += [
            "pm.test('problem details', function () {",
            f"    pm.expect(pm.response.json().status).to.equal({status});",
            "    pm.expect(pm.response.json()).to.have.property('title');",
            "});",
        ]
    elif fields := expected_fields(walker, operation, status):
        keys = ", ".join(f"'{name}'" for name in fields)
        lines += [
            f"pm.test('has {', '.join(fields)}', function () {{",
            f"    pm.expect(pm.response.json()).to.include.keys({keys});",
            "});",
        ]
    if path.endswith(TOKEN_PATHS):
        access, refresh = f"{prefix}access_token", f"{prefix}refresh_token"
        lines += [
            "if (pm.response.code === 200) {",
            "    const body = pm.response.json();",
            f"    pm.collectionVariables.set('{access}', body.access_token);",
            f"    pm.environment.set('{access}', body.access_token);",
            "    if (body.refresh_token) {",
            f"        pm.collectionVariables.set('{refresh}', body.refresh_token);",
            f"        pm.environment.set('{refresh}', body.refresh_token);",
            "    }",
            "}",
        ]
    return {"listen": "test", "script": {"type": "text/javascript", "exec": lines}}


def _body(walker: SchemaWalker, path: str, operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        example = walker.example(content["application/json"].get("schema", {}))
        if path.endswith("/auth/refresh") and isinstance(example, dict):
            # A Postman variable, not a credential.
            example["refresh_token"] = "{{refresh_token}}"  # noqa: S105  # nosec B105
        return {
            "mode": "raw",
            "raw": json.dumps(example, indent=2),
            "options": {"raw": {"language": "json"}},
        }
    if "application/x-www-form-urlencoded" in content:
        schema = walker.non_null(content["application/x-www-form-urlencoded"].get("schema", {}))
        fields = []
        for key in schema.get("properties", {}):
            variables = {"username": "{{email}}", "password": "{{password}}"}  # nosec B105
            value = variables.get(key, "")
            fields.append({"key": key, "value": value, "disabled": not value})
        return {"mode": "urlencoded", "urlencoded": fields}
    if "multipart/form-data" in content:
        schema = walker.non_null(content["multipart/form-data"].get("schema", {}))
        fields = []
        for key, prop in schema.get("properties", {}).items():
            resolved = walker.non_null(prop)
            if resolved.get("format") == "binary" or resolved.get("contentMediaType"):
                fields.append({"key": key, "type": "file", "src": []})
            else:
                fields.append({"key": key, "type": "text", "value": str(walker.example(prop, key))})
        return {"mode": "formdata", "formdata": fields}
    return None


def _url(walker: SchemaWalker, path: str, operation: dict[str, Any]) -> dict[str, Any]:
    # A segment that is one parameter is a Postman path variable (":name"); a parameter inside
    # a segment ("{token}.ics") can only be a variable reference ("{{token}}.ics").
    parts = path.strip("/").split("/")
    whole = [part for part in parts if _PATH_PARAM.fullmatch(part)]
    segments = [_PATH_PARAM.sub(r":\1" if part in whole else r"{{\1}}", part) for part in parts]
    query = []
    for parameter in operation.get("parameters", []):
        if parameter.get("in") != "query":
            continue
        value = walker.example(parameter.get("schema", {}), parameter["name"])
        query.append(
            {
                "key": parameter["name"],
                "value": json.dumps(value) if isinstance(value, bool) else str(value),
                "description": parameter.get("description", ""),
                "disabled": not parameter.get("required", False),
            }
        )
    enabled = "&".join(f"{q['key']}={q['value']}" for q in query if not q["disabled"])
    raw = "{{base_url}}/" + "/".join(segments) + (f"?{enabled}" if enabled else "")
    url: dict[str, Any] = {"raw": raw, "host": ["{{base_url}}"], "path": segments}
    if query:
        url["query"] = query
    variables = [name for part in whole for name in _PATH_PARAM.findall(part)]
    if variables:
        url["variable"] = [{"key": name, "value": "{{" + name + "}}"} for name in variables]
    return url


def postman_request(
    walker: SchemaWalker,
    path: str,
    method: str,
    operation: dict[str, Any],
    *,
    status: int | None = None,
    token_prefix: str = "",
) -> dict[str, Any]:
    """One request; its example response and test script expect `status` (default: the
    documented success)."""
    request: dict[str, Any] = {
        "method": method.upper(),
        "header": [{"key": "Accept", "value": "application/json"}],
        "url": _url(walker, path, operation),
        "description": operation.get("description") or operation.get("summary", ""),
    }
    if not is_authenticated(operation):
        request["auth"] = {"type": "noauth"}
    body = _body(walker, path, operation)
    if body is not None:
        request["body"] = body
        if body["mode"] == "raw":
            request["header"].append({"key": "Content-Type", "value": "application/json"})
    status = status or success_status(operation)
    item: dict[str, Any] = {
        "id": str(uuid.uuid5(_NAMESPACE, f"{method} {path}")),
        "name": operation.get("summary") or f"{method.upper()} {path}",
        "request": request,
        "response": [
            {
                "name": f"{status} {HTTPStatus(status).phrase}",
                "originalRequest": request,
                "status": HTTPStatus(status).phrase,
                "code": status,
                "header": [],
                "body": "",
            }
        ],
        "event": [_test_event(walker, path, operation, status, token_prefix)],
    }
    return item


def collection_variables(openapi: dict[str, Any]) -> list[str]:
    """Every `{{variable}}` the collection's requests use (paths and bodies)."""
    return sorted(set(_VARIABLE.findall(json.dumps(build_collection(openapi)["item"]))))


def build_collection(openapi: dict[str, Any]) -> dict[str, Any]:
    walker = SchemaWalker(openapi)
    folders: dict[str, list[dict[str, Any]]] = {}
    for path, method, operation in operations(openapi):
        tag = (operation.get("tags") or ["other"])[0]
        folders.setdefault(tag, []).append(postman_request(walker, path, method, operation))
    info = openapi.get("info", {})
    return {
        "info": {
            "_postman_id": str(uuid.uuid5(_NAMESPACE, "collection")),
            "name": info.get("title", "LMS Backend"),
            "description": (
                f"{info.get('description', '')}\n\nGenerated by `lms postman` from the OpenAPI "
                "schema. Run **auth / Login** first: its test script stores `access_token` and "
                "`refresh_token`, which every authenticated request sends as a bearer token."
            ),
            "version": info.get("version", ""),
            "schema": POSTMAN_SCHEMA,
        },
        "auth": {
            "type": "bearer",
            "bearer": [{"key": "token", "value": "{{access_token}}", "type": "string"}],
        },
        "variable": [
            {"key": "access_token", "value": ""},
            {"key": "refresh_token", "value": ""},
        ],
        "item": [{"name": tag, "item": items} for tag, items in folders.items()],
    }


def build_environment(
    openapi: dict[str, Any], *, name: str, base_url: str, values: dict[str, str] | None = None
) -> dict[str, Any]:
    values = values or {}
    keys = ["base_url", "email", "password", "access_token", "refresh_token"]
    keys += [key for key in collection_variables(openapi) if key not in keys]
    keys += sorted(key for key in values if key not in keys)
    defaults = {"base_url": base_url}
    secret = {"password", "access_token", "refresh_token"}
    return {
        "id": str(uuid.uuid5(_NAMESPACE, f"environment {name}")),
        "name": name,
        "values": [
            {
                "key": key,
                "value": values.get(key, defaults.get(key, "")),
                "type": "secret" if key in secret else "default",
                "enabled": True,
            }
            for key in keys
        ],
        "_postman_variable_scope": "environment",
    }


def demo_values(snapshot: dict[str, Any]) -> dict[str, str]:
    """Environment values from `lms seed-demo`'s snapshot: every id fills the path variable of
    the same name; each role's credentials become `<role>_email`/`<role>_password` (the
    student's also `email`/`password`, for the full collection's Login)."""
    values = {key: str(value) for key, value in snapshot.get("ids", {}).items()}
    for role in DEMO_ROLES:
        credential = snapshot.get("credentials", {}).get(role)
        if credential:
            values[f"{role}_email"] = credential["email"]
            values[f"{role}_password"] = credential["password"]
    if "student_email" in values:
        values["email"] = values["student_email"]
        values["password"] = values["student_password"]
    return values


# --- the demo journey ---------------------------------------------------------------------

DEMO_ROLES = ("student", "instructor", "admin")
# (who, method, OpenAPI path, expected status). "who" is a role whose token the request
# sends, or None for an anonymous request. The statuses are what the API answers on the data
# `lms seed-demo` creates, refusals included: they are the collection's assertions.
DEMO_STEPS: tuple[tuple[str | None, str, str, int], ...] = (
    (None, "get", "/api/v1/health", 200),
    (None, "get", "/api/v1/certificates/verify/{certificate_number}", 200),
    (None, "get", "/api/v1/users/me", 401),
    ("student", "post", "/api/v1/auth/login", 200),
    ("student", "get", "/api/v1/auth/me", 200),
    ("student", "get", "/api/v1/courses", 200),
    ("student", "get", "/api/v1/courses/{course_id}", 200),
    ("student", "get", "/api/v1/courses/slug/{slug}", 200),
    ("student", "get", "/api/v1/courses/{course_id}/lessons", 200),
    ("student", "get", "/api/v1/lessons/{lesson_id}", 200),
    ("student", "get", "/api/v1/enrollments/my-courses", 200),
    ("student", "get", "/api/v1/enrollments/{enrollment_id}", 200),
    ("student", "put", "/api/v1/enrollments/{enrollment_id}/lessons/{lesson_id}/progress", 200),
    ("student", "get", "/api/v1/courses/{course_id}/quizzes", 200),
    ("student", "get", "/api/v1/quizzes/{quiz_id}/attempts/my-attempts", 200),
    ("student", "get", "/api/v1/quizzes/{quiz_id}/attempts/{attempt_id}", 200),
    ("student", "get", "/api/v1/assignments/submissions/mine", 200),
    ("student", "get", "/api/v1/certificates/my-certificates", 200),
    ("student", "get", "/api/v1/certificates/{certificate_id}", 200),
    ("student", "get", "/api/v1/analytics/my-dashboard", 200),
    ("student", "get", "/api/v1/analytics/my-progress", 200),
    ("student", "get", "/api/v1/analytics/system/overview", 403),
    ("student", "get", "/api/v1/users", 403),
    ("instructor", "post", "/api/v1/auth/login", 200),
    ("instructor", "get", "/api/v1/courses/me", 200),
    ("instructor", "get", "/api/v1/enrollments/courses/{course_id}", 200),
    ("instructor", "get", "/api/v1/enrollments/courses/{course_id}/stats", 200),
    ("instructor", "get", "/api/v1/analytics/courses/{course_id}", 200),
    ("instructor", "get", "/api/v1/analytics/instructors/{instructor_id}/overview", 200),
    ("instructor", "get", "/api/v1/courses/{course_id}/quizzes/{quiz_id}/questions", 200),
    ("instructor", "get", "/api/v1/quizzes/{quiz_id}/attempts", 200),
    ("instructor", "get", "/api/v1/assignments/{assignment_id}/submissions", 200),
    ("instructor", "get", "/api/v1/users/{user_id}", 404),
    ("admin", "post", "/api/v1/auth/login", 200),
    ("admin", "get", "/api/v1/users", 200),
    ("admin", "get", "/api/v1/users/{user_id}", 200),
    ("admin", "get", "/api/v1/analytics/system/overview", 200),
    ("student", "post", "/api/v1/auth/logout", 204),
    ("student", "get", "/api/v1/auth/me", 401),
)


def demo_item(
    walker: SchemaWalker,
    openapi: dict[str, Any],
    who: str | None,
    method: str,
    path: str,
    status: int,
) -> dict[str, Any]:
    operation = openapi["paths"].get(path, {}).get(method)
    if operation is None:
        raise KeyError(f"the demo journey names {method.upper()} {path}, which the API lacks")
    item = postman_request(
        walker, path, method, operation, status=status, token_prefix=f"{who}_" if who else ""
    )
    request = item["request"]
    item["id"] = str(uuid.uuid5(_NAMESPACE, f"demo {who} {method} {path} {status}"))
    item["name"] = f"{who or 'anonymous'}: {item['name']} ({status})"
    if who is None:
        request["auth"] = {"type": "noauth"}
    elif path.endswith("/auth/login"):
        body = {"email": "{{" + who + "_email}}", "password": "{{" + who + "_password}}"}
        request["body"]["raw"] = json.dumps(body, indent=2)
    else:
        request["auth"] = {
            "type": "bearer",
            "bearer": [{"key": "token", "value": "{{" + who + "_access_token}}", "type": "string"}],
        }
    if path.endswith("/auth/logout"):
        body = {"refresh_token": "{{" + f"{who}_refresh_token" + "}}"}
        request["body"]["raw"] = json.dumps(body, indent=2)
    return item


def build_demo_collection(openapi: dict[str, Any]) -> dict[str, Any]:
    """The demo journey on `lms seed-demo` data: each role signs in and reads what it may,
    and is refused what it may not. Each request's example status is its assertion."""
    walker = SchemaWalker(openapi)
    items = [demo_item(walker, openapi, *step) for step in DEMO_STEPS]
    variables = [
        {"key": f"{role}_{kind}", "value": ""}
        for role in DEMO_ROLES
        for kind in ("access_token", "refresh_token")
    ]
    return {
        "info": {
            "_postman_id": str(uuid.uuid5(_NAMESPACE, "demo collection")),
            "name": f"{openapi.get('info', {}).get('title', 'LMS Backend')} demo journey",
            "description": (
                "Run in order with the demo environment (from `lms seed-demo`'s snapshot). "
                "Every request expects the status of its example."
            ),
            "version": openapi.get("info", {}).get("version", ""),
            "schema": POSTMAN_SCHEMA,
        },
        "variable": variables,
        "item": items,
    }


def write_json(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def demo_environment(
    openapi: dict[str, Any], snapshot: dict[str, Any], base_url: str
) -> dict[str, Any]:
    """The demo environment of one installation, from `lms seed-demo`'s snapshot."""
    return build_environment(
        openapi, name="LMS Backend (demo data)", base_url=base_url, values=demo_values(snapshot)
    )


def postman_command(args: argparse.Namespace) -> int:
    from app.core.config import get_settings

    openapi = load_openapi()
    folder = Path(args.output_dir)
    base_url = args.base_url or get_settings().PUBLIC_BASE_URL
    write_json(folder / COLLECTION_FILE, build_collection(openapi))
    write_json(
        folder / ENVIRONMENT_FILE,
        build_environment(openapi, name="LMS Backend (local)", base_url=base_url),
    )
    write_json(folder / DEMO_COLLECTION_FILE, build_demo_collection(openapi))
    written = [COLLECTION_FILE, ENVIRONMENT_FILE, DEMO_COLLECTION_FILE]
    count = len(operations(openapi))
    print(f"{count} requests; wrote {', '.join(str(folder / name) for name in written)}")
    return 0
