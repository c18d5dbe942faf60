"""Re-driving webhook deliveries whose task was lost: overdue, unclaimed, unfinished ones are
sent again, once; a claimed delivery is never attempted twice at the same time; and the
broker settings that bound how long a lost task waits."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from app.core.config import get_settings
from app.core.database import session_scope, utcnow
from app.core.tasks import MAX_COUNTDOWN_SECONDS, TASK_TIME_LIMIT_SECONDS
from app.modules.webhooks import repository, service
from app.modules.webhooks.models import WebhookDelivery
from app.modules.webhooks.tasks import redrive_overdue_job
from tests.modules.webhooks.helpers import create_delivery, stored_delivery
from tests.ops.fake_servers import FakeServer, serve


@pytest.fixture
def receiver(clean_state: None) -> Iterator[FakeServer]:
    with serve(lambda *_: (200, {}, b"ok")) as server:
        yield server


def _delivery(server: FakeServer, *, due_minutes_ago: float, **fields: Any) -> uuid.UUID:
    return create_delivery(f"{server.url}/hooks", due_minutes_ago=due_minutes_ago, **fields)


def test_an_overdue_delivery_is_sent_again_once(receiver: FakeServer) -> None:
    lost = _delivery(receiver, due_minutes_ago=10)
    assert redrive_overdue_job() == 1
    assert len(receiver.requests) == 1
    row = stored_delivery(lost)
    assert (row.status, row.attempts_count, row.claimed_until) == ("succeeded", 1, None)
    assert redrive_overdue_job() == 0
    assert len(receiver.requests) == 1


def test_claimed_recent_and_finished_deliveries_are_left_alone(receiver: FakeServer) -> None:
    held = _delivery(receiver, due_minutes_ago=10, claimed_until=utcnow() + timedelta(minutes=1))
    _delivery(receiver, due_minutes_ago=1)  # due, but within WEBHOOK_REDRIVE_AFTER_SECONDS
    _delivery(receiver, due_minutes_ago=60, status="succeeded")
    _delivery(receiver, due_minutes_ago=60, status="failed")
    _delivery(receiver, due_minutes_ago=60, status="retrying", claimed_until=utcnow())
    assert redrive_overdue_job() == 1  # only the retrying one whose claim has just lapsed
    assert len(receiver.requests) == 1
    assert stored_delivery(held).attempts_count == 0

    with session_scope() as session:
        row = session.get(WebhookDelivery, held)
        assert row is not None
        row.claimed_until = utcnow() - timedelta(seconds=1)  # its worker died: claim lapsed
    assert redrive_overdue_job() == 1
    assert len(receiver.requests) == 2
    assert stored_delivery(held).status == "succeeded"


def test_a_redriven_delivery_is_not_taken_again_within_the_period(receiver: FakeServer) -> None:
    lost = _delivery(receiver, due_minutes_ago=10)
    after = get_settings().WEBHOOK_REDRIVE_AFTER_SECONDS
    with session_scope() as session:
        now = utcnow()
        assert service.redrive_overdue(session, now=now) == [lost]
        # Its copy may still be queued: a second run (or a second beat) does not add another.
        assert service.redrive_overdue(session, now=now + timedelta(seconds=after - 1)) == []
        # That copy was lost too: the next period takes it again.
        later = now + timedelta(seconds=after + 1)
        assert service.redrive_overdue(session, now=later) == [lost]
        session.rollback()  # nothing is sent
    assert receiver.requests == []


def test_an_attempt_never_overlaps_one_in_progress(receiver: FakeServer) -> None:
    delivery_id = _delivery(receiver, due_minutes_ago=0)
    now = utcnow()
    with session_scope() as session:
        until = now + timedelta(minutes=1)
        assert repository.claim_delivery(session, delivery_id, now=now, until=until)
    with session_scope() as session:
        assert not repository.claim_delivery(session, delivery_id, now=now, until=now)
    assert service.attempt_delivery(delivery_id).status == "skipped"
    assert receiver.requests == []
    assert stored_delivery(delivery_id).attempts_count == 0


def test_a_task_waiting_for_its_retry_is_not_handed_out_twice() -> None:
    """The visibility timeout outlasts the longest countdown plus the longest run."""
    timeout = get_settings().CELERY_VISIBILITY_TIMEOUT_SECONDS
    assert timeout > MAX_COUNTDOWN_SECONDS + TASK_TIME_LIMIT_SECONDS
    assert service.BACKOFF_MAX_SECONDS <= MAX_COUNTDOWN_SECONDS
