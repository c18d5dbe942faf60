"""Factories for payments tests (direct ORM inserts) and a fake HTTP server standing in for
the gateways' HTTPS APIs, which cannot be reached from here."""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from app.core.config import get_settings
from app.core.database import get_engine, session_scope, utcnow
from app.modules.courses.models import Course
from app.modules.enrollments.models import Enrollment
from app.modules.payments.models import (
    Payment,
    Subscription,
    SubscriptionPlan,
)
from app.modules.users.models import User

_counter = itertools.count(1)


def create_course(
    instructor: User,
    *,
    price: str = "49.00",
    currency: str = "USD",
    published: bool = True,
    title: str | None = None,
) -> Course:
    number = next(_counter)
    with session_scope() as session:
        course = Course(
            title=title or f"Paid course {number}",
            slug=f"paid-course-{number}-{uuid.uuid4().hex[:6]}",
            instructor_id=instructor.id,
            price=Decimal(price),
            currency=currency,
            is_published=published,
            published_at=utcnow() if published else None,
        )
        session.add(course)
        session.flush()
        session.expunge(course)
    return course


def create_enrollment(student: User, course: Course, **fields: Any) -> Enrollment:
    with session_scope() as session:
        enrollment = Enrollment(student_id=student.id, course_id=course.id, **fields)
        session.add(enrollment)
        session.flush()
        session.expunge(enrollment)
    return enrollment


def create_plan(
    *, price: str = "19.00", currency: str = "USD", interval: str = "month", **fields: Any
) -> SubscriptionPlan:
    with session_scope() as session:
        plan = SubscriptionPlan(
            name=fields.pop("name", f"Plan {next(_counter)}"),
            price=Decimal(price),
            currency=currency,
            interval=interval,
            **fields,
        )
        session.add(plan)
        session.flush()
        session.expunge(plan)
    return plan


def create_subscription(
    user: User, plan: SubscriptionPlan, *, status: str = "active", days_left: int = 10
) -> Subscription:
    now = utcnow()
    with session_scope() as session:
        subscription = Subscription(
            user_id=user.id,
            plan_id=plan.id,
            plan_name=plan.name,
            amount=plan.price,
            currency=plan.currency,
            gateway="sandbox",
            status=status,
            current_period_start=now - timedelta(days=20),
            current_period_end=now + timedelta(days=days_left),
        )
        session.add(subscription)
        session.flush()
        session.expunge(subscription)
    return subscription


def create_payment(
    user: User,
    *,
    course: Course | None = None,
    amount: str = "49.00",
    currency: str = "USD",
    gateway: str = "sandbox",
    status: str = "completed",
    completed_at: datetime | None = None,
    **fields: Any,
) -> Payment:
    with session_scope() as session:
        payment = Payment(
            user_id=user.id,
            course_id=course.id if course else None,
            amount=Decimal(amount),
            currency=currency,
            gateway=gateway,
            status=status,
            completed_at=completed_at,
            **{"gateway_reference": f"ref_{uuid.uuid4().hex}", **fields},
        )
        session.add(payment)
        session.flush()
        session.expunge(payment)
    return payment


def outbox_entries() -> list[dict[str, Any]]:
    index = get_settings().VAR_DIR / "outbox" / "index.jsonl"
    if not index.exists():
        return []
    return [json.loads(line) for line in index.read_text().splitlines() if line.strip()]


def clear_outbox() -> None:
    index: Path = get_settings().VAR_DIR / "outbox" / "index.jsonl"
    index.unlink(missing_ok=True)


# --- a fake gateway API ----------------------------------------------------------------------


def connections_in_use() -> int:
    """How many of the application's database connections are checked out of its pool (each
    one a transaction in progress: a session gives its connection back when it ends one)."""
    pool: Any = get_engine().pool
    return int(pool.checkedout())


@dataclass
class FakeGateway:
    """Answers `routes[(method, path)]` = (status, json body); records every request, and
    how many database connections the application held at the moment it arrived."""

    routes: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    # Seconds each answer takes (a slow gateway, for overlapping requests).
    delay: float = 0.0

    def calls_inside_transactions(self) -> list[str]:
        """The requests that arrived while the application had a transaction open."""
        return [f"{r['method']} {r['path']}" for r in self.requests if r["connections_in_use"]]


@contextmanager
def fake_gateway_server() -> Iterator[FakeGateway]:
    fake = FakeGateway()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            path = self.path.split("?", 1)[0]
            fake.requests.append(
                {
                    "method": self.command,
                    "path": path,
                    "headers": dict(self.headers),
                    "body": raw.decode(),
                    "connections_in_use": connections_in_use(),
                }
            )
            time.sleep(fake.delay)
            status, body = fake.routes.get((self.command, path), (404, {"error": "no route"}))
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
