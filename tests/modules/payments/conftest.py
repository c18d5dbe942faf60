from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.modules.payments.factories import (
    FakeGateway,
    clear_outbox,
    create_course,
    fake_gateway_server,
)
from tests.modules.payments.helpers import STRIPE_WHSEC


@pytest.fixture
def paid_course(instructor: Any) -> Any:
    return create_course(instructor, price="49.00", currency="USD")


@pytest.fixture
def other_student(make_user: Any) -> Any:
    return make_user(role="student", email="other.student@example.com")


@pytest.fixture
def outbox() -> Iterator[None]:
    clear_outbox()
    yield


@pytest.fixture
def fake() -> Iterator[FakeGateway]:
    """A local stand-in for the gateways' HTTPS APIs."""
    with fake_gateway_server() as server:
        yield server


@pytest.fixture
def stripe_env(env: Any, fake: FakeGateway) -> FakeGateway:
    """Stripe as the configured gateway, its API answered by the fake."""
    env(
        PAYMENT_GATEWAY="stripe",
        STRIPE_SECRET_KEY="sk_test_123",
        STRIPE_WEBHOOK_SECRET=STRIPE_WHSEC,
        STRIPE_API_BASE=fake.url,
    )
    return fake
