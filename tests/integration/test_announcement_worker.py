"""An announcement fan-out whose worker is killed (SIGKILL) mid-way is finished by another
worker, started by the beat job that re-drives stopped fan-outs: every addressed student ends
up with exactly one notification, none twice, none skipped."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from celery import Celery
from sqlalchemy import func, select

from app.core.database import session_scope
from app.modules.announcements.models import Announcement, AnnouncementDelivery
from app.modules.notifications.models import Notification
from tests.integration.private_redis import private_redis
from tests.live import background, wait_for
from tests.modules.announcements.population import enroll_many, published_announcement
from tests.modules.courses.factories import create_course

pytestmark = [pytest.mark.slow]

STUDENTS = 1500


def _counts() -> tuple[int, int]:
    with session_scope() as db:
        return (
            int(db.scalar(select(func.count()).select_from(AnnouncementDelivery)) or 0),
            int(db.scalar(select(func.count()).select_from(Notification)) or 0),
        )


def _delivered(announcement_id: object) -> bool:
    with session_scope() as db:
        return db.get(Announcement, announcement_id).delivered_at is not None  # type: ignore[union-attr]


def test_a_fan_out_killed_mid_way_notifies_everyone_exactly_once(
    tmp_path: Path, instructor: object
) -> None:
    course = create_course(instructor, title="Algebra")  # type: ignore[arg-type]
    enroll_many(course, STUDENTS)
    announcement_id = published_announcement(course)
    with private_redis(tmp_path) as broker:
        env = broker.env(
            tmp_path,
            ANNOUNCEMENT_FANOUT_BATCH_SIZE="5",
            ANNOUNCEMENT_REDRIVE_AFTER_SECONDS="1",
            ANNOUNCEMENT_PUBLISH_CRON="every:2",
        )
        sender = Celery(broker=broker.url)
        first_log, second_log, beat_log = (
            tmp_path / name for name in ("worker-1.log", "worker-2.log", "beat.log")
        )
        with background("worker", "--concurrency", "1", env=env, log=first_log) as first:
            wait_for(lambda: "ready." in first_log.read_text(), 60, "worker start", first_log)
            sender.send_task(
                "default.announcements_fan_out", args=[str(announcement_id)], queue="default"
            )
            wait_for(lambda: _counts()[0] >= 50, 60, "the fan-out under way", first_log)
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        deliveries, notifications = _counts()
        # Killed mid-way: each committed batch wrote its delivery rows with its notifications.
        assert 50 <= deliveries < STUDENTS, deliveries
        assert notifications == deliveries

        with (
            background("worker", "--concurrency", "1", env=env, log=second_log),
            background("beat", env=env, log=beat_log),
        ):
            wait_for(
                lambda: _delivered(announcement_id), 180, "the finished fan-out",
                second_log, beat_log,
            )  # fmt: skip
        sender.close()

    with session_scope() as db:
        twice = db.scalars(
            select(Notification.user_id).group_by(Notification.user_id).having(func.count() > 1)
        ).all()
    assert twice == []
    assert _counts() == (STUDENTS, STUDENTS)
