"""The router every API module uses. It skips its routes for paths outside its prefix, and
its routes commit the request's session inside the worker thread that ran a sync endpoint, as
soon as the endpoint returns.

Without this, the commit would wait for another worker thread after the endpoint's (the
session dependency's exit runs on the event loop), holding the transaction's row locks while
it queues for a thread: one more thread hop per request, and under enough concurrent writes to
the same rows, threads blocked on locks whose owners wait for a free thread.

Every route also refuses NUL characters in its query, path, headers and JSON body before
parsing them (`app.core.validation.nul_errors`).

Also here: `model_response` (answer with a model serialized once) and `AnonymousCacheRoute`
(public GET routes whose repeated anonymous requests are answered from the cache directly).
"""

from __future__ import annotations

import functools
import inspect
import re
import typing
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import fastapi
from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.routing import Match, compile_path
from starlette.types import Scope

from app.core.cache import cache_peek
from app.core.database import finish_request_transaction
from app.core.dependencies import ACCESS_COOKIE, DbSession
from app.core.validation import nul_errors


def _session_parameter(endpoint: Callable[..., Any]) -> str | None:
    hints = typing.get_type_hints(endpoint, include_extras=True)
    return next((name for name, hint in hints.items() if hint == DbSession), None)


def commit_in_endpoint_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """`endpoint`, committing its `DbSession` argument before returning when it is a sync
    function (FastAPI runs it in a worker thread); other endpoints are returned unchanged."""
    if inspect.iscoroutinefunction(endpoint):
        return endpoint
    name = _session_parameter(endpoint)
    if name is None:
        return endpoint

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        result = endpoint(*args, **kwargs)
        finish_request_transaction(kwargs[name])
        return result

    return run


JSON_MEDIA_TYPE = "application/json"


def model_response(model: BaseModel) -> Response:
    """`model`, serialized once, as the response. Returned as is, FastAPI would dump it to a
    dict, validate that against the route's `response_model` and serialize the result: for a
    model already of the documented type, the same JSON at several times the cost. Hot routes
    that build their model from trusted rows answer with this; `response_model` stays for the
    documentation."""
    return Response(model.model_dump_json(), media_type=JSON_MEDIA_TYPE)


def _is_json(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.startswith(JSON_MEDIA_TYPE) or "+json" in content_type


def _uuid_path_params(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.path_params if p.field_info.annotation is uuid.UUID}
    for child in dependant.dependencies:
        names |= _uuid_path_params(child)
    return names


def _typed_path(path: str, uuid_params: set[str]) -> str:
    """`path` with each UUID parameter matching UUIDs only (`{course_id}` becomes
    `{course_id:uuid}`), so a literal sibling path such as `/courses/me` is never taken for an
    id: a method the literal path lacks answers 405, not a parameter route's 422."""
    return re.sub(
        r"\{(\w+)\}",
        lambda m: f"{{{m[1]}:uuid}}" if m[1] in uuid_params else m[0],
        path,
    )


class TransactionalRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, commit_in_endpoint_thread(endpoint), **kwargs)
        typed = _typed_path(self.path, _uuid_path_params(self.dependant))
        if typed != self.path:
            self.path = typed
            self.path_regex, self.path_format, self.param_convertors = compile_path(typed)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        reads_body = self.body_field is not None

        async def refuse_nul(request: Request) -> Response:
            # The body is read once: the request keeps it for the endpoint's own parsing.
            body = await request.body() if reads_body and _is_json(request) else None
            errors = nul_errors(request, body)
            if errors:
                raise RequestValidationError(errors)
            return await handler(request)

        return refuse_nul


_ANONYMOUS_CACHE_KEY = "anonymous_cache_key"
_REMEMBERED_KEYS_MAX = 10_000


def answer_anonymous_from(request: Request, key: str) -> None:
    """Tell an `AnonymousCacheRoute` that this anonymous request was answered with the cache
    entry `key`, and so is every anonymous request with the same path and query string."""
    setattr(request.state, _ANONYMOUS_CACHE_KEY, key)


def _anonymous(request: Request) -> tuple[str, bytes] | None:
    """The request's path and query string when it is a GET carrying no credentials."""
    if (
        request.method != "GET"
        or "authorization" in request.headers
        or ACCESS_COOKIE in request.cookies
    ):
        return None
    return request.scope["path"], request.scope["query_string"]


class AnonymousCacheRoute(TransactionalRoute):
    """A public GET route whose anonymous answers come from the cache (the catalogue, course
    details). Once the endpoint has said which cache entry answers an anonymous path and query
    (`answer_anonymous_from`), the next such request is answered from that entry, when this
    process holds it, without resolving the endpoint's dependencies and parameters (most of
    the CPU such a request costs). The path-and-query to key mapping never goes stale, since
    the endpoint derives the key from them alone; the entry itself is the cache's, with its
    TTL and invalidations. A request carrying credentials always takes the full path, so an
    invalid token is still refused."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self._keys: dict[tuple[str, bytes], str] = {}
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        keys = self._keys

        async def answer(request: Request) -> Response:
            anonymous = _anonymous(request)
            if anonymous is not None:
                known = keys.get(anonymous)
                body = cache_peek(known) if known else None
                if isinstance(body, str):
                    return Response(body, media_type=JSON_MEDIA_TYPE)
            response = await handler(request)
            key = getattr(request.state, _ANONYMOUS_CACHE_KEY, None)
            if anonymous is not None and key is not None:
                if len(keys) >= _REMEMBERED_KEYS_MAX:
                    keys.clear()
                keys[anonymous] = key
            return response

        return answer


class APIRouter(fastapi.APIRouter):
    # Bumped whenever a route is added to any of these routers (see `_get_routes_version`).
    _generation = 0

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", TransactionalRoute)
        super().__init__(**kwargs)
        # The prefix up to its first path parameter (`/courses/{course_id}` -> `/courses/`).
        self._literal_prefix = self.prefix.split("{", 1)[0]
        self._version: tuple[int, int] | None = None

    def _mark_routes_changed(self) -> None:
        super()._mark_routes_changed()
        APIRouter._generation += 1

    def _get_routes_version(self, seen: set[int] | None = None) -> int:
        # FastAPI asks each router included on a request's way for this version, to notice a
        # route added since it last listed the candidates; the answer walks every router
        # included below (hundreds of checks per request here). Every route added to these
        # routers goes through `_mark_routes_changed`, so the walk's answer is kept until
        # one of them changes.
        if self._version is None or self._version[0] != APIRouter._generation:
            self._version = (APIRouter._generation, super()._get_routes_version(seen))
        return self._version[1]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # FastAPI tries the routes of every included router in turn, and twice per request.
        # A path that does not contain this router's literal prefix cannot match any of its
        # routes, so they are skipped without trying each one.
        if self._literal_prefix and self._literal_prefix not in scope["path"]:
            return Match.NONE, {}
        return super().matches(scope)
