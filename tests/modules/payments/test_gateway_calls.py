"""No database transaction is open while a gateway is asked anything: opening a checkout
(from the payment endpoint, a subscription and the enroll endpoint), refunding and asking
where a payment stands. A transaction held across an HTTPS call keeps its row locks, a pooled
connection and, on SQLite, the database's write lock for as long as the gateway takes.

The fake gateway APIs count the application's checked-out connections when each request
arrives; the sandbox, which answers in-process, is watched at its method calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, update

from app.core.database import outside_transaction, release_connection, session_scope
from app.modules.payments.gateways import sandbox
from app.modules.users.models import User
from tests.modules.payments.factories import (
    FakeGateway,
    connections_in_use,
    create_course,
    create_payment,
    create_plan,
)
from tests.modules.payments.helpers import (
    MYFATOORAH_SECRET,
    PAYMOB_SECRET,
    STRIPE_WHSEC,
    count_enrollments,
    payment_row,
    stripe_session,
)

PAYMENTS = "/api/v1/payments"
REFUNDED = {"id": "re_1", "object": "refund", "status": "succeeded"}


@dataclass(frozen=True)
class Setup:
    gateway: str
    currency: str
    # "{url}" stands for the fake's base URL.
    settings: dict[str, str]
    # The route that opens a checkout, and its answer for the n-th checkout.
    checkout: tuple[str, str]
    checkout_answer: Callable[[int], tuple[int, dict[str, Any]]]
    # Refunds and status queries (the answer for the payment of this id, reference ref_open).
    routes: Callable[[str], dict[tuple[str, str], tuple[int, dict[str, Any]]]]


SETUPS = {
    "stripe": Setup(
        "stripe",
        "USD",
        {
            "STRIPE_SECRET_KEY": "sk_test_123",
            "STRIPE_WEBHOOK_SECRET": STRIPE_WHSEC,
            "STRIPE_API_BASE": "{url}",
        },
        ("POST", "/v1/checkout/sessions"),
        lambda n: (200, stripe_session(f"cs_test_{n}", "x")),
        lambda payment_id: {
            ("POST", "/v1/refunds"): (200, REFUNDED),
            ("GET", "/v1/checkout/sessions/ref_open"): (200, stripe_session("ref_open", "x")),
        },
    ),
    "myfatoorah": Setup(
        "myfatoorah",
        "KWD",
        {
            "MYFATOORAH_API_KEY": "mf-token",
            "MYFATOORAH_BASE_URL": "{url}",
            "MYFATOORAH_WEBHOOK_SECRET": MYFATOORAH_SECRET,
        },
        ("POST", "/v2/SendPayment"),
        lambda n: (
            200,
            {
                "IsSuccess": True,
                "Data": {"InvoiceId": n, "InvoiceURL": f"https://demo.example/{n}"},
            },
        ),
        lambda payment_id: {
            ("POST", "/v2/MakeRefund"): (
                200,
                {"IsSuccess": True, "Data": {"Key": "k", "RefundId": 41, "Amount": 49.0}},
            ),
            ("POST", "/v2/GetPaymentStatus"): (
                200,
                {
                    "IsSuccess": True,
                    "Data": {
                        "InvoiceId": 1,
                        "InvoiceStatus": "Pending",
                        "CustomerReference": payment_id,
                        "InvoiceTransactions": [],
                    },
                },
            ),
        },
    ),
    "paymob": Setup(
        "paymob",
        "EGP",
        {
            "PAYMOB_SECRET_KEY": "egy_sk_test",
            "PAYMOB_PUBLIC_KEY": "egy_pk_test",
            "PAYMOB_INTEGRATION_ID": "4097558",
            "PAYMOB_API_KEY": "paymob-api-key",
            "PAYMOB_HMAC_SECRET": PAYMOB_SECRET,
            "PAYMOB_BASE_URL": "{url}",
        },
        ("POST", "/v1/intention/"),
        lambda n: (
            201,
            {"id": f"pi_{n}", "client_secret": f"egy_csk_{n}", "intention_order_id": n},
        ),
        lambda payment_id: {
            ("POST", "/api/auth/tokens"): (201, {"token": "paymob-auth-token"}),
            ("POST", "/api/acceptance/void_refund/refund"): (200, {"id": 192036999}),
            # No transaction on the order yet.
            ("POST", "/api/ecommerce/orders/transaction_inquiry"): (404, {"detail": "Not found."}),
        },
    ),
}


def _configure(env: Any, fake: FakeGateway, setup: Setup) -> Callable[[int], None]:
    """Point the gateway at the fake; returns how to prepare the fake for the n-th checkout."""
    env(
        PAYMENT_GATEWAY=setup.gateway,
        **{name: value.replace("{url}", fake.url) for name, value in setup.settings.items()},
    )

    def next_checkout(n: int) -> None:
        fake.routes[setup.checkout] = setup.checkout_answer(n)

    return next_checkout


@dataclass(frozen=True)
class People:
    student: Any
    admin: Any
    instructor: Any


@pytest.fixture
def people(student: Any, admin: Any, instructor: Any) -> People:
    return People(student, admin, instructor)


def _every_gateway_call(
    client: Any,
    auth_headers: Any,
    people: People,
    *,
    gateway: str,
    currency: str = "USD",
    next_checkout: Callable[[int], None] = lambda n: None,
    answer_for: Callable[[str], None] = lambda payment_id: None,
) -> None:
    """Open checkouts three ways, refund a completed payment, reconcile a pending one."""
    student, admin, instructor = people.student, people.admin, people.instructor
    next_checkout(1)
    course = create_course(instructor, price="49.00", currency=currency)
    intent = client.post(
        f"{PAYMENTS}/create-payment-intent",
        json={"course_id": str(course.id)},
        headers=auth_headers(student),
    )
    assert intent.status_code == 201, intent.text
    next_checkout(2)
    other = create_course(instructor, price="29.00", currency=currency)
    enroll = client.post(
        "/api/v1/enrollments", json={"course_id": str(other.id)}, headers=auth_headers(student)
    )
    assert enroll.status_code == 402, enroll.text
    next_checkout(3)
    plan = create_plan(price="19.00", currency=currency)
    subscribe = client.post(
        f"{PAYMENTS}/create-subscription",
        json={"plan_id": str(plan.id)},
        headers=auth_headers(student),
    )
    assert subscribe.status_code == 201, subscribe.text

    bought = create_course(instructor, price="15.00", currency=currency)
    paid = create_payment(
        student,
        course=bought,
        amount="15.00",
        currency=currency,
        gateway=gateway,
        transaction_id="txn_1",
    )
    answer_for(str(paid.id))
    refund = client.post(
        f"{PAYMENTS}/{paid.id}/refund", json={"reason": "asked"}, headers=auth_headers(admin)
    )
    assert refund.status_code == 200, refund.text
    assert payment_row(str(paid.id)).status == "refunded"

    pending = create_payment(
        student,
        course=bought,
        amount="15.00",
        currency=currency,
        gateway=gateway,
        status="pending",
        gateway_reference="ref_open",
    )
    answer_for(str(pending.id))
    reconcile = client.post(f"{PAYMENTS}/{pending.id}/reconcile", headers=auth_headers(admin))
    assert reconcile.status_code == 200, reconcile.text
    assert reconcile.json()["status"] == "pending"
    assert count_enrollments(student.id, bought.id) == 0


@pytest.mark.parametrize("gateway", sorted(SETUPS))
def test_no_transaction_is_open_while_a_gateway_api_answers(
    gateway: str, client: Any, auth_headers: Any, people: People, env: Any, fake: FakeGateway
) -> None:
    setup = SETUPS[gateway]
    _every_gateway_call(
        client,
        auth_headers,
        people,
        gateway=gateway,
        currency=setup.currency,
        next_checkout=_configure(env, fake, setup),
        answer_for=lambda payment_id: fake.routes.update(setup.routes(payment_id)),
    )
    called = [f"{r['method']} {r['path']}" for r in fake.requests]
    assert called.count(" ".join(setup.checkout)) == 3
    assert set(called) >= {" ".join(route) for route in setup.routes("")}
    assert fake.calls_inside_transactions() == []


def test_no_transaction_is_open_while_the_sandbox_answers(
    client: Any, auth_headers: Any, people: People, env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env(PAYMENT_GATEWAY="sandbox")
    calls: list[tuple[str, int]] = []
    for name in ("create_checkout", "refund", "fetch_status"):
        method = getattr(sandbox.SandboxGateway, name)

        def watched(
            self: Any, *args: Any, _name: str = name, _method: Any = method, **kw: Any
        ) -> Any:
            calls.append((_name, connections_in_use()))
            return _method(self, *args, **kw)

        monkeypatch.setattr(sandbox.SandboxGateway, name, watched)
    _every_gateway_call(client, auth_headers, people, gateway="sandbox")
    assert [name for name, _ in calls] == [
        "create_checkout",
        "create_checkout",
        "create_checkout",
        "refund",
        "fetch_status",
    ]
    assert [held for _, held in calls] == [0, 0, 0, 0, 0]


def test_outside_transaction_releases_the_connection_and_keeps_what_was_read(
    student: Any,
) -> None:
    with session_scope() as db:
        user = db.get(User, student.id)
        assert user is not None and connections_in_use() == 1
        with outside_transaction(db):
            assert connections_in_use() == 0 and not db.in_transaction()
            # Loaded attributes are not expired: reading them needs no database.
            assert user.email == student.email and connections_in_use() == 0
        # The same session goes on afterwards, in a new transaction.
        assert db.scalar(select(User).where(User.id == student.id)) is user
        assert db.in_transaction() and connections_in_use() == 1


def test_outside_transaction_refuses_a_session_that_has_written(student: Any) -> None:
    # Pending, flushed and bulk writes are all refused, and nothing is committed.
    with session_scope() as db:
        user = db.get(User, student.id)
        assert user is not None
        user.full_name = "Changed"
        with pytest.raises(RuntimeError):
            release_connection(db)
        db.flush()
        assert not db.dirty
        with pytest.raises(RuntimeError), outside_transaction(db):
            pass
        db.rollback()
    with session_scope() as db:
        db.execute(update(User).where(User.id == student.id).values(full_name="Bulk"))
        with pytest.raises(RuntimeError):
            release_connection(db)
        db.rollback()
        # A new transaction that has only read may release again.
        db.get(User, student.id)
        release_connection(db)
    with session_scope() as db:
        assert db.get(User, student.id).full_name == student.full_name  # type: ignore[union-attr]


def test_outside_transaction_refuses_a_block_that_uses_the_session(student: Any) -> None:
    with session_scope() as db, pytest.raises(RuntimeError), outside_transaction(db):
        db.get(User, student.id)


@pytest.mark.postgres
def test_releasing_a_read_keeps_the_connections_prepared_statements(student: Any) -> None:
    """Ending a read (as authentication does on every request) must not empty the driver's
    prepared statements, or PostgreSQL plans every statement of every request again."""
    statement = select(User.full_name).where(User.id == student.id)
    with session_scope() as db:
        for _ in range(6):  # psycopg prepares a statement at its fifth execution
            db.execute(statement)
        driver = db.connection().connection.driver_connection
        assert driver._prepared._names
        release_connection(db)
        assert driver._prepared._names
