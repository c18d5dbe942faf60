"""Schemathesis over every operation of the OpenAPI document, as an admin and as a student.

Each operation is its own test (xdist spreads them), with a fixed seed and a bounded number
of examples per generation phase. A request fails the test on a server error, a status code
or content type the document does not declare, a body that breaks the declared schema, or an
`Allow` header that differs from the methods the document lists for the path.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from app.main import create_app
from tests.factories import bearer_headers

APP = create_app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    unsupported_method,
    allow_header_conformance,
]

# Enough to reach every documented status of an operation, few enough that the whole run
# stays within a few minutes on PostgreSQL.
FUZZ = settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _call(case: Any, user: Any) -> None:
    # A token per request: an operation that logs out or changes the password must not turn
    # the rest of the run into 401s.
    case.call_and_validate(headers=bearer_headers(user), checks=CHECKS)


@schema.parametrize()
@FUZZ
@seed(20261206)
def test_every_operation_as_admin(case: Any, admin: Any) -> None:
    _call(case, admin)


@schema.parametrize()
@FUZZ
@seed(20261206)
def test_every_operation_as_student(case: Any, student: Any) -> None:
    _call(case, student)
