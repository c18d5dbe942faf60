"""The application's routes as the router tries them: full path, methods and endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import _IncludedRouter


def _flatten(candidates: list[Any]) -> Iterator[Any]:
    for candidate in candidates:
        if isinstance(candidate, _IncludedRouter):
            yield from _flatten(candidate.effective_candidates())
        else:
            yield candidate


def routes_in_match_order(app: FastAPI) -> list[Any]:
    """Every route with its full path (`path`, `path_regex`, `methods`, `endpoint`, and the
    `dependant` of an API route), in the order requests are matched against them."""
    return [route for route in _flatten(list(app.router.routes)) if hasattr(route, "methods")]
