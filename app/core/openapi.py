"""The application's OpenAPI document: FastAPI's, finished in one pass.

- Each endpoint's one-line docstring becomes its summary (FastAPI would otherwise title-case
  the function name).
- Every error response is documented as what the error handler sends: `application/problem+json`
  with the `Problem` schema (routes declare their error statuses with `app.core.errors.problem`;
  FastAPI would file them under the route's own media type).
- Every operation that reads a request body documents the 400 answered when the body cannot
  be parsed at all (not UTF-8, a broken multipart form), before any field is validated.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from app.core.errors import PROBLEM_JSON

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
UNPARSABLE_BODY = "The request body cannot be parsed (not UTF-8, not JSON, a broken form)"


def _summary_from_docstring(operation: dict[str, Any]) -> None:
    description = operation.get("description")
    if not description:
        return
    first, _, rest = description.strip().partition("\n")
    operation["summary"] = first.strip()
    if rest.strip():
        operation["description"] = rest.strip()
    else:
        operation.pop("description")


def _is_error(status: str) -> bool:
    return status[:1] in ("4", "5")


def _document_problems(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if "requestBody" in operation:
        responses.setdefault("400", {"description": UNPARSABLE_BODY})
    for status, response in responses.items():
        if not _is_error(status):
            continue
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        if schema not in (None, PROBLEM_REF):
            continue  # a route that answers this status with a body of its own
        response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}


def finish_openapi(app: FastAPI) -> None:
    """Replace `app.openapi` with FastAPI's document finished as described above."""
    build_schema = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build_schema()
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                if isinstance(operation, dict):
                    _summary_from_docstring(operation)
                    _document_problems(operation)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
