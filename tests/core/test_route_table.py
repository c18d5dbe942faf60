"""Properties of the whole route table: literal paths win over parameter routes, and every
list takes its page through the one pagination dependency."""

from __future__ import annotations

from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.testclient import TestClient

from app.core.pagination import Page, _page_params
from app.main import create_app
from tests.core.routes import routes_in_match_order

API = "/api/v1"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _dependants(dependant: Dependant) -> list[Dependant]:
    found = [dependant]
    for child in dependant.dependencies:
        found.extend(_dependants(child))
    return found


def test_no_literal_path_is_shadowed_by_a_parameter_route() -> None:
    """A request to a literal path (`/enrollments/my-courses`) is answered by that path's
    routes, whatever the method: never by a parameter route (`/enrollments/{id}`) that also
    matches it, which would parse the literal segment as an id."""
    routes = routes_in_match_order(create_app())
    literal_paths = {route.path for route in routes if "{" not in route.path}
    shadowed = []
    for path in sorted(literal_paths):
        for method in METHODS:
            first = next(
                (
                    route
                    for route in routes
                    if method in (route.methods or ()) and route.path_regex.match(path)
                ),
                None,
            )
            if first is not None and first.path != path:
                shadowed.append(f"{method} {path} -> {first.path}")
    assert shadowed == []


def test_a_method_a_literal_path_lacks_answers_405(client: TestClient) -> None:
    response = client.delete(f"{API}/enrollments/my-courses")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/problem+json")


def test_every_list_route_pages_through_the_one_pagination_dependency() -> None:
    """Lists answer a `Page` envelope, and `page`/`page_size` come from `Pagination` (which
    bounds them) wherever they appear: no route declares its own."""
    lists, own_params = [], []
    for route in routes_in_match_order(create_app()):
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            continue
        dependants = _dependants(dependant)
        paginated = any(d.call is _page_params for d in dependants)
        model: Any = getattr(route, "response_model", None)
        if isinstance(model, type) and issubclass(model, Page) and not paginated:
            lists.append(route.path)
        for d in dependants:
            names = {param.alias for param in d.query_params}
            if names & {"page", "page_size"} and d.call is not _page_params:
                own_params.append(route.path)
    assert lists == []
    assert own_params == []
    paged = [r.path for r in routes_in_match_order(create_app()) if hasattr(r, "dependant")]
    assert len(paged) > 100


def test_a_route_added_after_requests_is_found() -> None:
    """The routers keep FastAPI's routes version between requests (`APIRouter.
    _get_routes_version`): a route added later, two routers down, still answers."""
    from fastapi import FastAPI

    from app.core.routing import APIRouter

    outer, inner = APIRouter(), APIRouter(prefix="/inner")
    inner.add_api_route("/first", lambda: {"route": "first"})
    outer.include_router(inner)
    app = FastAPI()
    app.include_router(outer)
    with TestClient(app) as client:
        assert client.get("/inner/first").json() == {"route": "first"}
        assert client.get("/inner/second").status_code == 404
        inner.add_api_route("/second", lambda: {"route": "second"})
        assert client.get("/inner/second").json() == {"route": "second"}
