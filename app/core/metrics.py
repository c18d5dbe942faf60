"""Prometheus metrics: HTTP request count/latency by route template, in-flight gauge, and
business counters. Works with several worker processes when PROMETHEUS_MULTIPROC_DIR is set."""

from __future__ import annotations

import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REQUESTS = Counter("lms_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "lms_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HTTP_IN_FLIGHT = Gauge(
    "lms_http_requests_in_flight", "HTTP requests being served", multiprocess_mode="livesum"
)
BUSINESS_EVENTS = Counter(
    "lms_business_events_total", "Domain events (enrollments, completions, ...)", ["event"]
)
TASK_RUNS = Counter("lms_task_runs_total", "Background task outcomes", ["task", "outcome"])
TASK_DURATION = Histogram("lms_task_duration_seconds", "Background task duration", ["task"])

UNMATCHED_ROUTE = "<unmatched>"


def route_template(scope: Scope) -> str:
    """The matched route's full template (`/api/v1/courses/{course_id}`), never the raw path,
    so label cardinality stays bounded.

    A route included from a sub-router knows only its own relative template; the prefix is
    what precedes the rendered relative path in the request path.
    """
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if not template:
        return UNMATCHED_ROUTE
    params = scope.get("path_params") or {}
    try:
        rendered = template.format(**{key: str(value) for key, value in params.items()})
    except (KeyError, IndexError, ValueError):
        return str(template)
    path: str = scope.get("path", "")
    if rendered and path.endswith(rendered):
        prefix = path[: len(path) - len(rendered)]
        # A parameter that lives in an inclusion prefix must not leak its value either.
        for key, value in params.items():
            prefix = prefix.replace(f"/{value}/", f"/{{{key}}}/")
            if prefix.endswith(f"/{value}"):
                prefix = prefix[: -len(str(value))] + f"{{{key}}}"
        return prefix + template
    return str(template)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status_code = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
            await send(message)

        HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            HTTP_IN_FLIGHT.dec()
            route = route_template(scope)
            method = scope["method"]
            HTTP_REQUESTS.labels(method, route, str(status_code)).inc()
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)


def render_metrics() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
