"""A real Celery beat and worker on the Redis broker run the scheduled jobs: the course
reminder and the weekly report reach a real SMTP server once each (not once per beat tick),
opted-out students get nothing, lapsed subscriptions expire, and a payment whose webhook was
lost is completed by asking its gateway (a local fake of Stripe's API), with one receipt."""

from __future__ import annotations

import email
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from app.core.database import session_scope, utcnow
from app.modules.payments.models import Payment, Subscription
from tests.live import background, free_port, service_env
from tests.modules.payments.factories import (
    FakeGateway,
    create_course,
    create_enrollment,
    create_payment,
    create_plan,
    create_subscription,
    fake_gateway_server,
)
from tests.modules.payments.helpers import count_enrollments, stripe_session

pytestmark = [pytest.mark.redis, pytest.mark.slow]


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    port = free_port()  # aiosmtpd cannot bind port 0 and report it back
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def stripe() -> Iterator[FakeGateway]:
    with fake_gateway_server() as server:
        yield server


def _subjects_for(inbox: _Inbox, address: str) -> list[str]:
    return sorted(str(m["Subject"]) for m in inbox.messages if m["To"] == address)


def test_beat_and_worker_send_scheduled_mail_once(
    smtp: tuple[_Inbox, int],
    stripe: FakeGateway,
    make_user: Any,
    instructor: Any,
    tmp_path: Path,
) -> None:
    inbox, port = smtp
    long_ago = utcnow() - timedelta(days=30)
    learner = make_user(email="learner@example.com")
    quiet = make_user(email="quiet@example.com", email_opt_out=True)
    course = create_course(instructor, title="Geometry")
    for user in (learner, quiet):
        create_enrollment(user, course, enrolled_at=long_ago, last_accessed_at=long_ago)
    lapsed = create_subscription(learner, create_plan(), days_left=-1)
    buyer = make_user(email="buyer@example.com")
    paid_course = create_course(instructor, title="Algebra", price="49.00")
    opened = utcnow() - timedelta(hours=1)
    lost = create_payment(
        buyer,
        course=paid_course,
        gateway="stripe",
        status="pending",
        gateway_reference="cs_test_lost",
        created_at=opened,
        updated_at=opened,
    )
    stripe.routes[("GET", "/v1/checkout/sessions/cs_test_lost")] = (
        200,
        stripe_session("cs_test_lost", str(lost.id), "paid"),
    )

    redis_url = os.environ["REDIS_URL"]
    env = service_env(
        tmp_path,
        EMAIL_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(port),
        SMTP_USE_TLS="false",
        SMTP_USE_SSL="false",
        TASKS_FORCE_INLINE="false",
        CELERY_BROKER_URL=redis_url,
        REDIS_URL=redis_url,
        # Every second instead of Monday 09:00 / daily 10:00 / hourly.
        WEEKLY_REPORT_CRON="every:1",
        COURSE_REMINDER_CRON="every:1",
        SUBSCRIPTION_EXPIRY_CRON="every:1",
        PAYMENT_RECONCILIATION_CRON="every:1",
        STRIPE_SECRET_KEY="sk_test_123",
        STRIPE_API_BASE=stripe.url,
    )
    with (
        background("worker", "--pool", "solo", env=env, log=tmp_path / "worker.log") as worker,
        background("beat", env=env, log=tmp_path / "beat.log") as beat,
    ):
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and (
            len(_subjects_for(inbox, learner.email)) < 2 or not _subjects_for(inbox, buyer.email)
        ):
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            assert beat.poll() is None, (tmp_path / "beat.log").read_text()[-3000:]
            time.sleep(0.5)
        # Let beat fire the jobs several more times: the period markers stop repeats.
        time.sleep(5)
    subjects = _subjects_for(inbox, learner.email)
    assert len(subjects) == 2, subjects
    assert subjects[0] == "Pick up where you left off in Geometry"
    assert subjects[1].startswith("Your week at")
    assert _subjects_for(inbox, quiet.email) == []
    with session_scope() as session:
        subscription = session.get(Subscription, lapsed.id)
        assert subscription is not None and subscription.status == "expired"
        payment = session.get(Payment, lost.id)
        assert payment is not None and payment.status == "completed"
    receipts = [s for s in _subjects_for(inbox, buyer.email) if s.startswith("Receipt for")]
    assert receipts == ["Receipt for Algebra: 49.00 USD"]
    assert count_enrollments(buyer.id, paid_course.id) == 1
