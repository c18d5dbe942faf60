"""Domain errors and the one handler that renders every error as RFC 9457 problem details."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("app.errors")

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://lms.local/problems/"


class FieldError(BaseModel):
    loc: list[str]
    field: str
    message: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details, served as `application/problem+json`."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str
    request_id: str | None = None
    errors: list[FieldError] | None = None


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": f"{description} (application/problem+json)"}


# Declared on every API route so the OpenAPI document shows the error format clients get.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _problem("Not authenticated, or the token is invalid, expired or revoked"),
    403: _problem("Authenticated but not allowed"),
    404: _problem("Not found, or not visible to this user"),
    409: _problem("Conflicts with the current state"),
    422: _problem("Invalid input (field errors in `errors`) or a broken business rule"),
    429: _problem("Rate limit exceeded; see Retry-After"),
}


def unavailable(description: str) -> dict[int | str, dict[str, Any]]:
    """The 503 a route answers when a service it depends on fails, for its `responses`."""
    return {503: _problem(description)}


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
    return problem_response(
        request,
        status=exc.status_code,
        title=exc.title,
        detail=exc.detail,
        code=exc.code,
        headers=exc.headers,
        extra=exc.extra,
    )


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
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
        headers=getattr(exc, "headers", None),
    )


async def _validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
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
        except Exception:
            request = Request(scope)
            logger.exception(
                "unhandled error",
                extra={"request_id": _request_id(request), "path": request.url.path},
            )
            if started:
                raise
            await _internal_error(request)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers; call before any other middleware so the guard is innermost."""
    app.add_exception_handler(DomainError, _domain_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_middleware(UnhandledErrorMiddleware)
