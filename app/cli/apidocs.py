"""`lms docs` (Markdown API reference) and what it shares with `lms postman`
(app/cli/postman.py): the application's OpenAPI schema and a walker that resolves its
`$ref`s and builds example values, so the generated files never drift from the routes.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

EXAMPLE_TIME = "2026-01-01T09:00:00Z"
_METHODS = ("get", "post", "put", "patch", "delete")


def register(subparsers: Any) -> None:
    docs = subparsers.add_parser("docs")
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
                body = ", ".join(
                    f"{walker.type_name(media['schema'])} (`{media_type}`)"
                    if "schema" in media
                    else f"`{media_type}`"
                    for media_type, media in response.get("content", {}).items()
                )
                lines.append(
                    f"| {code} | {_cell(response.get('description', ''))} | {_cell(body)} |"
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
