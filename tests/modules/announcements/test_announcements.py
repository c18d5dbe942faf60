"""Announcements: who writes and reads them (the access matrix), cohorts, scheduling, the
fan-out (each addressed student notified once, in batches, again safely), and editing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.database import session_scope, utcnow
from app.modules.announcements import service
from app.modules.announcements.models import Announcement, AnnouncementDelivery
from app.modules.announcements.tasks import publish_due_job
from app.modules.notifications.models import Notification
from tests.modules.announcements.factories import Classroom, create_classroom
from tests.modules.payments.factories import clear_outbox, outbox_entries


@pytest.fixture
def room(make_user: Any) -> Classroom:
    clear_outbox()
    return create_classroom(make_user)


def _url(room: Classroom, suffix: str = "") -> str:
    return f"/api/v1/courses/{room.course.id}/announcements{suffix}"


def _inbox(user_id: uuid.UUID) -> list[str]:
    with session_scope() as db:
        return list(
            db.scalars(select(Notification.title).where(Notification.user_id == user_id)).all()
        )


def _count(model: Any) -> int:
    with session_scope() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def _post(client: TestClient, room: Classroom, headers: Any, **body: Any) -> Any:
    return client.post(_url(room), json={"title": "Exam", "body": "On *Monday*", **body},
                       headers=headers)  # fmt: skip


def test_only_managers_and_admins_write(
    client: TestClient, room: Classroom, auth_headers: Any
) -> None:
    for user in (room.student_a, room.outsider, room.other_instructor):
        assert _post(client, room, auth_headers(user)).status_code == 403
    assert client.post(_url(room), json={"title": "x", "body": "y"}).status_code == 401
    assert _count(Announcement) == 0
    assert _post(client, room, auth_headers(room.admin)).status_code == 201
    created = _post(client, room, auth_headers(room.author))
    assert created.status_code == 201
    assert created.json()["body_html"] == "<p>On <em>Monday</em></p>\n"
    missing = f"/api/v1/courses/{uuid.uuid4()}/announcements"
    assert client.post(missing, json={"title": "x", "body": "y"},
                       headers=auth_headers(room.author)).status_code == 404  # fmt: skip


def test_publishing_notifies_each_addressed_student_once(
    client: TestClient, room: Classroom, auth_headers: Any
) -> None:
    created = _post(client, room, auth_headers(room.author), title="Course-wide")
    for student in (room.student_a, room.student_b, room.student_plain):
        assert _inbox(student.id) == ["Algebra: Course-wide"]
    assert _inbox(room.outsider.id) == [] and _inbox(room.author.id) == []
    assert sorted(e["to"] for e in outbox_entries()) == sorted(
        s.email for s in (room.student_a, room.student_b, room.student_plain)
    )
    # Running the fan-out again (a redelivered task, the re-drive job) notifies nobody twice.
    service.fan_out(uuid.UUID(created.json()["id"]))
    assert _count(Notification) == 3 and _count(AnnouncementDelivery) == 3
    with session_scope() as db:
        assert db.scalars(select(Announcement.delivered_at)).one() is not None


def test_cohort_announcements_reach_and_show_to_that_cohort_only(
    client: TestClient, room: Classroom, auth_headers: Any
) -> None:
    cohort = _post(client, room, auth_headers(room.author), title="For A",
                   cohort_id=str(room.cohort_a)).json()  # fmt: skip
    _post(client, room, auth_headers(room.author), title="For all")
    assert sorted(_inbox(room.student_a.id)) == ["Algebra: For A", "Algebra: For all"]
    assert _inbox(room.student_b.id) == ["Algebra: For all"]
    assert _inbox(room.student_plain.id) == ["Algebra: For all"]

    def titles(user: Any) -> list[str]:
        answer = client.get(_url(room), headers=auth_headers(user))
        return [item["title"] for item in answer.json()["items"]]

    assert titles(room.student_a) == ["For all", "For A"]
    assert titles(room.student_b) == ["For all"]
    assert titles(room.author) == ["For all", "For A"] == titles(room.admin)
    detail = _url(room, f"/{cohort['id']}")
    assert client.get(detail, headers=auth_headers(room.student_a)).status_code == 200
    assert client.get(detail, headers=auth_headers(room.student_b)).status_code == 404
    assert client.get(detail, headers=auth_headers(room.student_plain)).status_code == 404
    for stranger in (room.outsider, room.other_instructor):
        assert client.get(_url(room), headers=auth_headers(stranger)).status_code == 403
        assert client.get(detail, headers=auth_headers(stranger)).status_code == 403
    assert client.get(detail).status_code == 401
    # The detail path is bound to its course.
    elsewhere = f"/api/v1/courses/{room.other_course.id}/announcements/{cohort['id']}"
    assert client.get(elsewhere, headers=auth_headers(room.other_instructor)).status_code == 404


def test_a_cohort_of_another_course_is_refused(
    client: TestClient, room: Classroom, auth_headers: Any, make_user: Any
) -> None:
    from tests.modules.announcements.factories import create_cohort

    foreign = create_cohort(room.other_course, "X", [])
    for cohort_id in (str(foreign), str(uuid.uuid4())):
        answer = _post(client, room, auth_headers(room.author), cohort_id=cohort_id)
        assert answer.status_code == 422 and answer.json()["code"] == "invalid_cohort"
    for bad in ({"title": ""}, {"body": "x" * 20001}, {"publish_at": "2030-01-01T00:00:00"},
                {"cohort_id": "nope"}):  # fmt: skip
        assert _post(client, room, auth_headers(room.author), **bad).status_code == 422
    assert _count(Announcement) == 0


def test_scheduled_announcements_wait_for_the_publishing_job(
    client: TestClient, room: Classroom, auth_headers: Any
) -> None:
    later = (utcnow() + timedelta(hours=1)).isoformat()
    created = _post(client, room, auth_headers(room.author), title="Later", publish_at=later)
    assert created.json()["published_at"] is None
    assert _inbox(room.student_a.id) == []
    assert client.get(_url(room), headers=auth_headers(room.student_a)).json()["total"] == 0
    assert client.get(_url(room), headers=auth_headers(room.author)).json()["total"] == 1
    assert publish_due_job.apply().get() == 0
    with session_scope() as db:
        db.get(Announcement, uuid.UUID(created.json()["id"])).publish_at = utcnow()  # type: ignore[union-attr]
    assert publish_due_job.apply().get() == 1
    assert _inbox(room.student_a.id) == ["Algebra: Later"]
    assert publish_due_job.apply().get() == 0
    assert _count(Notification) == 3


def test_a_stopped_fan_out_is_finished_by_the_job(
    client: TestClient, room: Classroom, auth_headers: Any, env: Any
) -> None:
    env(ANNOUNCEMENT_FANOUT_BATCH_SIZE="1", ANNOUNCEMENT_REDRIVE_AFTER_SECONDS="1")
    later = (utcnow() + timedelta(hours=1)).isoformat()
    created = _post(client, room, auth_headers(room.author), publish_at=later).json()
    announcement_id = uuid.UUID(created["id"])
    with session_scope() as db:
        db.get(Announcement, announcement_id).published_at = utcnow() - timedelta(minutes=5)  # type: ignore[union-attr]
    # One batch went out, then the worker died.
    assert service.deliver_batch(announcement_id, after=None) is not None
    assert _count(Notification) == 1
    assert publish_due_job.apply().get() == 1
    assert _count(Notification) == 3 and _count(AnnouncementDelivery) == 3
    assert publish_due_job.apply().get() == 0


def test_editing_rules_and_delete(client: TestClient, room: Classroom, auth_headers: Any) -> None:
    later = (utcnow() + timedelta(hours=1)).isoformat()
    scheduled = _post(client, room, auth_headers(room.author), publish_at=later).json()
    published = _post(client, room, auth_headers(room.author), title="Now").json()
    url_s, url_p = _url(room, f"/{scheduled['id']}"), _url(room, f"/{published['id']}")
    headers = auth_headers(room.author)

    for user in (room.student_a, room.other_instructor, room.outsider):
        assert (
            client.patch(url_p, json={"title": "x"}, headers=auth_headers(user)).status_code == 403
        )
        assert client.delete(url_p, headers=auth_headers(user)).status_code == 403
    assert client.patch(url_p, json={"title": "x"}).status_code == 401

    fixed = client.patch(url_p, json={"body": "<script>x</script>fixed"}, headers=headers)
    assert fixed.status_code == 200 and "<script>" not in fixed.json()["body_html"]
    moved = client.patch(url_p, json={"cohort_id": str(room.cohort_a)}, headers=headers)
    assert moved.status_code == 409 and moved.json()["code"] == "announcement_published"
    assert client.patch(url_s, json={"title": None}, headers=headers).status_code == 422
    assert (
        client.patch(url_s, json={"cohort_id": str(room.cohort_b)}, headers=headers).status_code
        == 200
    )
    assert _inbox(room.student_b.id) == ["Algebra: Now"]
    now = client.patch(url_s, json={"publish_at": None}, headers=headers)
    assert now.status_code == 200 and now.json()["published_at"]
    assert sorted(_inbox(room.student_b.id)) == ["Algebra: Exam", "Algebra: Now"]
    assert _inbox(room.student_a.id) == ["Algebra: Now"]

    assert client.delete(url_p, headers=headers).status_code == 204
    assert client.get(url_p, headers=headers).status_code == 404
    assert client.delete(url_p, headers=headers).status_code == 404
    assert _inbox(room.student_a.id) == ["Algebra: Now"]
