"""`lms postman` (Postman collection and environments) and `lms docs` (Markdown API reference),
both generated from the application's OpenAPI schema so they never drift from the routes.

The collection groups requests by tag, authenticates with a collection-level bearer token
(`{{access_token}}`), and the login, token and refresh requests carry a test script that
stores the tokens they receive. Every request has one example response with the status the
API documents for success; `postman/` holds the committed output.
"""

from __future__ import annotations

import argparse
import json
import re
import uuid
from http import HTTPStatus
from pathlib import Path
from typing import Any

POSTMAN_SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
COLLECTION_FILE = "lms.postman_collection.json"
ENVIRONMENT_FILE = "lms.postman_environment.json"
DEMO_ENVIRONMENT_FILE = "lms-demo.postman_environment.json"
DEMO_COLLECTION_FILE = "lms-demo.postman_collection.json"
SNAPSHOT_FILE = "demo_seed_snapshot.json"
# Stable ids: regenerating an unchanged API gives byte-identical files.
_NAMESPACE = uuid.UUID("0f8c3c2e-5d1a-4a59-9b7e-3f2d6c1a9e40")
_METHODS = ("get", "post", "put", "patch", "delete")
_PATH_PARAM = re.compile(r"\{([^{}]+)\}")
_VARIABLE = re.compile(r"\{\{([^{}]+)\}\}")
# Requests that answer with tokens; their test script stores them in collection variables.
TOKEN_PATHS = ("/auth/login", "/auth/token", "/auth/refresh", "/auth/login/mfa")
EXAMPLE_TIME = "2026-01-01T09:00:00Z"


def register(subparsers: Any) -> None:
    postman = subparsers.add_parser(
        "postman", help="write a Postman collection and environments from the OpenAPI schema"
    )
    postman.add_argument("--output-dir", default="postman", help="folder (default postman/)")
    postman.add_argument(
        "--base-url", default="http://127.0.0.1:8000", help="base_url in the environments"
    )
    postman.set_defaults(handler=postman_command)

    docs = subparsers.add_parser("docs", help="write a Markdown API reference from OpenAPI")
    docs.add_argument("--output", "-o", default="docs/API.md", help="file (default docs/API.md)")
    docs.set_defaults(handler=docs_command)


def load_openapi() -> dict[str, Any]:
    from app.main import create_app

    return create_app().openapi()


# --- schema helpers ---------------------------------------------------------------------


class SchemaWalker:
    """Resolves `$ref`s and builds example values from JSON Schema."""

    def __init__(self, openapi: dict[str, Any]) -> None:
        self.components = openapi.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 20:
            schema = {
                **self.components[schema["$ref"].rsplit("/", 1)[-1]],
                **{key: value for key, value in schema.items() if key != "$ref"},
            }
            seen += 1
        return schema

    def non_null(self, schema: dict[str, Any]) -> dict[str, Any]:
        schema = self.resolve(schema)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [self.resolve(o) for o in schema[key] if o.get("type") != "null"]
                if options:
                    merged = {k: v for k, v in schema.items() if k != key}
                    return {**options[0], **merged}
        if "allOf" in schema and len(schema["allOf"]) == 1:
            return {**self.resolve(schema["allOf"][0]), **schema}
        return schema

    def type_name(self, schema: dict[str, Any]) -> str:
        raw = schema
        if "$ref" in raw:
            return str(raw["$ref"].rsplit("/", 1)[-1])
        for key in ("anyOf", "oneOf"):
            if key in raw:
                return " | ".join(self.type_name(option) for option in raw[key])
        if raw.get("type") == "array":
            return f"array[{self.type_name(raw.get('items', {}))}]"
        kind = str(raw.get("type", "object"))
        return f"{kind} ({raw['format']})" if "format" in raw else kind

    def example(self, schema: dict[str, Any], name: str = "", depth: int = 0) -> Any:
        schema = self.non_null(schema)
        for key in ("example", "default", "const"):
            if key in schema and schema[key] is not None:
                return schema[key]
        if schema.get("examples"):
            return schema["examples"][0]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type", "object")
        if depth > 6:
            return None
        if kind == "object" or "properties" in schema:
            properties = schema.get("properties", {})
            return {
                key: self.example(value, key, depth + 1)
                for key, value in properties.items()
                if key in schema.get("required", properties)
            }
        if kind == "array":
            # Items of "lesson_ids" are lesson ids: {{lesson_id}}.
            item_name = name[:-1] if name.endswith("_ids") else name
            return [self.example(schema.get("items", {}), item_name, depth + 1)]
        if kind == "integer":
            return max(int(schema.get("minimum", 1)), 1)
        if kind == "number":
            return float(schema.get("minimum", 0) or 10)
        if kind == "boolean":
            return False
        return self._string(schema, name)

    def _string(self, schema: dict[str, Any], name: str) -> str:
        fmt = schema.get("format", "")
        if fmt == "email" or name.endswith("email"):
            return "{{email}}"
        if "password" in name:
            return "{{password}}"  # nosec B105 - a Postman variable, not a password
        if fmt == "uuid" or name.endswith("_id"):
            return "{{" + (name or "id") + "}}"
        if fmt == "date-time":
            return EXAMPLE_TIME
        if fmt == "date":
            return EXAMPLE_TIME[:10]
        if fmt in ("uri", "url") or name.endswith("url"):
            return "https://example.com/resource"
        text = name.replace("_", " ").strip() or "text"
        minimum = int(schema.get("minLength", 0))
        return text.ljust(minimum, ".")[: schema.get("maxLength", 200)]


def operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, item in openapi.get("paths", {}).items():
        for method in _METHODS:
            if method in item:
                found.append((path, method, item[method]))
    return found


def success_status(operation: dict[str, Any]) -> int:
    codes = sorted(int(code) for code in operation.get("responses", {}) if code.isdigit())
    successes = [code for code in codes if 200 <= code < 300]
    return successes[0] if successes else (codes[0] if codes else 200)


def is_authenticated(operation: dict[str, Any]) -> bool:
    return bool(operation.get("security"))


# --- Postman ------------------------------------------------------------------------------


def _token_script(path: str, prefix: str = "") -> list[dict[str, Any]]:
    if not path.endswith(TOKEN_PATHS):
        return []
    access, refresh = f"{prefix}access_token", f"{prefix}refresh_token"
    lines = [
        "pm.test('answered with tokens', function () {",
        "    pm.expect(pm.response.code).to.equal(200);",
        "});",
        "const body = pm.response.json();",
        "if (body.access_token) {",
        f"    pm.collectionVariables.set('{access}', body.access_token);",
        f"    pm.environment.set('{access}', body.access_token);",
        "}",
        "if (body.refresh_token) {",
        f"    pm.collectionVariables.set('{refresh}', body.refresh_token);",
        f"    pm.environment.set('{refresh}', body.refresh_token);",
        "}",
    ]
    return [{"listen": "test", "script": {"type": "text/javascript", "exec": lines}}]


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
    walker: SchemaWalker, path: str, method: str, operation: dict[str, Any]
) -> dict[str, Any]:
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
    status = success_status(operation)
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
    }
    events = _token_script(path)
    if events:
        item["event"] = events
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


def _demo_item(
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
    item = postman_request(walker, path, method, operation)
    request = item["request"]
    item["id"] = str(uuid.uuid5(_NAMESPACE, f"demo {who} {method} {path} {status}"))
    item["name"] = f"{who or 'anonymous'}: {item['name']} ({status})"
    if who is None:
        request["auth"] = {"type": "noauth"}
    elif path.endswith("/auth/login"):
        body = {"email": "{{" + who + "_email}}", "password": "{{" + who + "_password}}"}
        request["body"]["raw"] = json.dumps(body, indent=2)
        item["event"] = _token_script(path, prefix=f"{who}_")
    else:
        request["auth"] = {
            "type": "bearer",
            "bearer": [{"key": "token", "value": "{{" + who + "_access_token}}", "type": "string"}],
        }
    if path.endswith("/auth/logout"):
        body = {"refresh_token": "{{" + f"{who}_refresh_token" + "}}"}
        request["body"]["raw"] = json.dumps(body, indent=2)
    item["response"] = [
        {
            **item["response"][0],
            "name": f"{status} {HTTPStatus(status).phrase}",
            "status": HTTPStatus(status).phrase,
            "code": status,
        }
    ]
    return item


def build_demo_collection(openapi: dict[str, Any]) -> dict[str, Any]:
    """The demo journey on `lms seed-demo` data: each role signs in and reads what it may,
    and is refused what it may not. Each request's example status is its assertion."""
    walker = SchemaWalker(openapi)
    items = [_demo_item(walker, openapi, *step) for step in DEMO_STEPS]
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


def postman_command(args: argparse.Namespace) -> int:
    openapi = load_openapi()
    folder = Path(args.output_dir)
    write_json(folder / COLLECTION_FILE, build_collection(openapi))
    write_json(
        folder / ENVIRONMENT_FILE,
        build_environment(openapi, name="LMS Backend (local)", base_url=args.base_url),
    )
    written = [COLLECTION_FILE, ENVIRONMENT_FILE]
    snapshot_path = folder / SNAPSHOT_FILE
    if snapshot_path.exists():
        snapshot = json.loads(snapshot_path.read_text())
        write_json(
            folder / DEMO_ENVIRONMENT_FILE,
            build_environment(
                openapi,
                name="LMS Backend (demo data)",
                base_url=args.base_url,
                values=demo_values(snapshot),
            ),
        )
        write_json(folder / DEMO_COLLECTION_FILE, build_demo_collection(openapi))
        written += [DEMO_ENVIRONMENT_FILE, DEMO_COLLECTION_FILE]
    count = len(operations(openapi))
    print(f"{count} requests; wrote {', '.join(str(folder / name) for name in written)}")
    return 0


# --- Markdown reference -------------------------------------------------------------------


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", text.lower()).replace(" ", "-")


def build_markdown(openapi: dict[str, Any]) -> str:
    walker = SchemaWalker(openapi)
    info = openapi.get("info", {})
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, method, operation in operations(openapi):
        by_tag.setdefault((operation.get("tags") or ["other"])[0], []).append(
            (path, method, operation)
        )
    lines = [
        f"# {info.get('title', 'API')} — API reference",
        "",
        f"Version {info.get('version', '')}. Generated by `lms docs` from the OpenAPI schema; "
        "do not edit by hand.",
        "",
        info.get("description", ""),
        "",
        "Authenticated routes take `Authorization: Bearer <access token>` (from "
        "`POST /api/v1/auth/login`). Errors are RFC 9457 problem details "
        "(`application/problem+json`). Lists take `page` and `page_size` and answer "
        "`{items, total, page, page_size, pages}`.",
        "",
        "## Contents",
        "",
    ]
    lines += [f"- [{tag}](#{_anchor(tag)}) ({len(ops)} routes)" for tag, ops in by_tag.items()]
    for tag, ops in by_tag.items():
        lines += ["", f"## {tag}", ""]
        for path, method, operation in ops:
            lines += [f"### `{method.upper()} {path}`", ""]
            summary = operation.get("description") or operation.get("summary", "")
            lines += [summary, ""] if summary else []
            lines += [
                "Authentication: "
                + ("bearer token required." if is_authenticated(operation) else "none."),
                "",
            ]
            parameters = operation.get("parameters", [])
            if parameters:
                lines += [
                    "| parameter | in | type | required | description |",
                    "|---|---|---|---|---|",
                ]
                for p in parameters:
                    schema = p.get("schema", {})
                    lines.append(
                        f"| `{p['name']}` | {p['in']} | {_cell(walker.type_name(schema))} | "
                        f"{'yes' if p.get('required') else 'no'} | "
                        f"{_cell(p.get('description', schema.get('description', '')))} |"
                    )
                lines.append("")
            content = operation.get("requestBody", {}).get("content", {})
            for media_type, media in content.items():
                schema = media.get("schema", {})
                lines += [f"Request body (`{media_type}`): {walker.type_name(schema)}", ""]
                if media_type == "application/json":
                    example = json.dumps(walker.example(schema), indent=2)
                    lines += ["```json", example, "```", ""]
            lines += ["| status | meaning | body |", "|---|---|---|"]
            for code, response in operation.get("responses", {}).items():
                body = response.get("content", {}).get("application/json", {}).get("schema")
                lines.append(
                    f"| {code} | {_cell(response.get('description', ''))} | "
                    f"{_cell(walker.type_name(body)) if body else ''} |"
                )
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def docs_command(args: argparse.Namespace) -> int:
    openapi = load_openapi()
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(build_markdown(openapi))
    print(f"{len(operations(openapi))} routes documented in {output}")
    return 0
