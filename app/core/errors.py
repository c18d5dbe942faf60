"""Domain errors and the one handler that renders every error as RFC 9457 problem details."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolExhausted
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("app.errors")

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://lms.local/problems/"


class FieldError(BaseModel):
    """One invalid value. Request validation gives `loc`, `field` and `type`; business rules
    name the `field` (a weak password) or the `question_id` (a quiz answer)."""

    message: str
    field: str | None = Field(None, description="The field's dotted path inside its location")
    loc: list[str] | None = Field(None, description="Location (body, query, path, header), path")
    type: str | None = Field(None, description="Error kind, e.g. missing, string_too_short")
    question_id: str | None = Field(None, description="The quiz question an answer is for")


class Problem(BaseModel):
    """RFC 9457 problem details, served as `application/problem+json`. Validation problems
    (`code` = `validation_error`) list each invalid field in `errors`."""

    type: str = Field(description="A URI naming the kind of problem")
    title: str = Field(description="A short summary of the kind of problem")
    status: int = Field(description="The HTTP status code")
    detail: str = Field(description="What went wrong with this request")
    code: str = Field(description="A stable machine-readable code, e.g. not_found")
    instance: str = Field(description="The path of the request")
    request_id: str | None = Field(None, description="The request id, to quote in reports")
    errors: list[FieldError] | None = Field(
        None, description="Each invalid value (validation problems, weak passwords, quiz answers)"
    )


def problem(status: int, description: str) -> dict[int | str, dict[str, Any]]:
    """A problem response a route answers besides the common ones, for its `responses`."""
    return {status: {"model": Problem, "description": description}}


# Declared on every API route so the OpenAPI document shows the error format clients get
# (served as application/problem+json: see app/core/openapi.py).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    **problem(401, "Not authenticated, or the token is invalid, expired or revoked"),
    **problem(403, "Authenticated but not allowed"),
    **problem(404, "Not found, or not visible to this user"),
    **problem(409, "Conflicts with the current state"),
    **problem(422, "Invalid input (field errors in `errors`) or a broken business rule"),
    **problem(429, "Rate limit exceeded; see Retry-After"),
    **problem(503, "The database cannot be reached or has no free connection; see Retry-After"),
}

# The database is down, failing over, or every pooled connection is busy: the request did
# nothing, and the same request can succeed in a moment.
DATABASE_UNAVAILABLE = (OperationalError, PoolExhausted, PoolTimeout)
DATABASE_RETRY_AFTER_SECONDS = 2


class DomainError(Exception):
    """Base of every error a service raises; the handler turns it into problem details."""

    status_code: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.title
        if code:
            self.code = code
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        super().__init__(self.detail)

    def render(self, request: Request) -> JSONResponse:
        """The answer: problem details (a protocol with its own error format overrides it)."""
        return problem_response(
            request,
            status=self.status_code,
            title=self.title,
            detail=self.detail,
            code=self.code,
            headers=self.headers,
            extra=self.extra,
        )


class BadRequest(DomainError):
    status_code, code, title = 400, "bad_request", "Bad request"


class Unauthorized(DomainError):
    status_code, code, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class PermissionDenied(DomainError):
    status_code, code, title = 403, "permission_denied", "Permission denied"


class NotFound(DomainError):
    status_code, code, title = 404, "not_found", "Not found"


class Conflict(DomainError):
    status_code, code, title = 409, "conflict", "Conflict"


class Gone(DomainError):
    status_code, code, title = 410, "gone", "Gone"


class PayloadTooLarge(DomainError):
    status_code, code, title = 413, "payload_too_large", "Payload too large"


class UnsupportedMediaType(DomainError):
    status_code, code, title = 415, "unsupported_media_type", "Unsupported media type"


class BusinessRuleViolation(DomainError):
    status_code, code, title = 422, "business_rule_violation", "Request breaks a business rule"


class Locked(DomainError):
    status_code, code, title = 423, "locked", "Locked"


class TooManyRequests(DomainError):
    status_code, code, title = 429, "rate_limited", "Too many requests"


class ServiceUnavailable(DomainError):
    status_code, code, title = 503, "service_unavailable", "Service unavailable"


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def problem_response(
    request: Request,
    *,
    status: int,
    title: str,
    detail: str,
    code: str,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
    }
    request_id = _request_id(request)
    if request_id:
        body["request_id"] = request_id
    if extra:
        body.update(extra)
    return JSONResponse(
        body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON
    )


def _status_code_name(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


async def _domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return exc.render(request)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at the request's path. The router answers 405 from the
    first route whose path matched, whose methods are only part of those the path serves."""
    routes = request.app.router.routes
    allowed = []
    for method in _METHODS:
        probe = {**request.scope, "method": method}
        probe.pop("fastapi", None)  # the router's per-request state, not shared with the probe
        if any(route.matches(probe)[0] == Match.FULL for route in routes):
            allowed.append(method)
    return ", ".join(allowed)


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    headers = dict(getattr(exc, "headers", None) or {})
    if status == 405:
        headers["Allow"] = _allowed_methods(request)
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    detail = exc.detail if isinstance(exc.detail, str) else title
    if status == 404 and detail == "Not Found":
        detail = f"No route matches {request.method} {request.url.path}"
    elif status == 405 and detail == "Method Not Allowed":
        detail = f"Method {request.method} is not allowed on {request.url.path}"
    return problem_response(
        request,
        status=status,
        title=title,
        detail=detail,
        code=_status_code_name(status),
        headers=headers,
    )


async def _validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    unparsable = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
    if unparsable is not None:
        # Not a field's value but the body itself: 400, as every body-taking route documents.
        position = unparsable.get("loc", ("body", 0))[-1]
        reason = (unparsable.get("ctx") or {}).get("error", "not JSON")
        return problem_response(
            request,
            status=400,
            title="Bad Request",
            detail=f"The request body is not valid UTF-8 JSON: {reason} (at character {position})",
            code="invalid_json",
        )
    errors = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ())]
        errors.append(
            {
                "loc": location,
                "field": ".".join(location[1:]) if len(location) > 1 else ".".join(location),
                "message": error.get("msg", "Invalid value"),
                "type": error.get("type", "value_error"),
            }
        )
    return problem_response(
        request,
        status=422,
        title="Validation failed",
        detail="The request is not valid; see errors for each field.",
        code="validation_error",
        extra={"errors": errors},
    )


def _database_unavailable(request: Request) -> JSONResponse:
    return problem_response(
        request,
        status=503,
        title="Service unavailable",
        detail="The database is unavailable or busy; try again shortly.",
        code="database_unavailable",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


def _internal_error(request: Request) -> JSONResponse:
    return problem_response(
        request,
        status=500,
        title="Internal server error",
        detail="An unexpected error occurred. Quote the request id when reporting it.",
        code="internal_error",
    )


class UnhandledErrorMiddleware:
    """Innermost middleware: turns any unhandled exception into a 500 problem response that
    still passes through the outer middleware (request id, security headers, metrics)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            request = Request(scope)
            unavailable = isinstance(exc, DATABASE_UNAVAILABLE)
            logger.log(
                logging.WARNING if unavailable else logging.ERROR,
                "database unavailable" if unavailable else "unhandled error",
                exc_info=True,
                extra={"request_id": _request_id(request), "path": request.url.path},
            )
            if started:
                raise
            answer = _database_unavailable if unavailable else _internal_error
            await answer(request)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers; call before any other middleware so the guard is innermost."""
    app.add_exception_handler(DomainError, _domain_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_middleware(UnhandledErrorMiddleware)
