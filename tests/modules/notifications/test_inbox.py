"""The notification inbox, preferences and one-click unsubscribe: only the caller's own
notifications, per-category channels honoured by notify(), security emails always sent, and
unsubscribe tokens that work for their recipient and category only."""

from __future__ import annotations

import email
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.config import get_settings
from app.core.database import session_scope, utcnow
from app.modules.notifications import inbox
from app.modules.notifications.models import (
    Notification,
    NotificationCategory,
    NotificationPreference,
)
from app.modules.users.models import User
from tests.modules.payments.factories import clear_outbox, outbox_entries

API = "/api/v1/notifications"


@pytest.fixture(autouse=True)
def _empty_outbox() -> None:
    clear_outbox()


def _notify(user: User, category: NotificationCategory = NotificationCategory.GRADES,
            title: str = "Graded") -> None:  # fmt: skip
    with session_scope() as db:
        inbox.notify(db, db.get(User, user.id), category, inbox.Message(title=title, body="b"))


def _message(entry: dict[str, Any]) -> email.message.Message:
    path = get_settings().VAR_DIR / "outbox" / entry["file"]
    return email.message_from_bytes(path.read_bytes())


def _token_of(entry: dict[str, Any]) -> str:
    link = _message(entry)["List-Unsubscribe"].strip("<>")
    return parse_qs(urlparse(link).query)["token"][0]


def test_inbox_lists_only_the_callers_notifications_newest_first(
    client: TestClient, student: Any, make_user: Any, auth_headers: Any
) -> None:
    other = make_user()
    for title in ("first", "second", "third"):
        _notify(student, title=title)
    _notify(other, title="not yours")
    with session_scope() as db:
        rows = db.scalars(select(Notification).where(Notification.user_id == student.id)).all()
        for index, row in enumerate(sorted(rows, key=lambda r: r.title)):
            row.created_at = utcnow() - timedelta(minutes=10 - index)

    page = client.get(API, params={"page_size": 2}, headers=auth_headers(student)).json()
    assert [item["title"] for item in page["items"]] == ["third", "second"]
    assert page["total"] == 3 and page["pages"] == 2
    assert client.get(API, headers=auth_headers(other)).json()["total"] == 1
    assert client.get(API).status_code == 401
    assert (
        client.get(API, params={"page_size": 101}, headers=auth_headers(student)).status_code == 422
    )


def test_mark_read_touches_only_the_callers_rows(
    client: TestClient, student: Any, make_user: Any, auth_headers: Any
) -> None:
    other = make_user()
    _notify(student, title="mine")
    _notify(student, title="mine too")
    _notify(other, title="theirs")
    headers = auth_headers(student)
    mine = client.get(API, headers=headers).json()["items"]
    theirs = client.get(API, headers=auth_headers(other)).json()["items"][0]
    assert client.get(f"{API}/unread-count", headers=headers).json() == {"unread": 2}

    marked = client.post(
        f"{API}/read", json={"ids": [mine[0]["id"], theirs["id"]]}, headers=headers
    )
    assert marked.json() == {"marked": 1}
    assert client.get(f"{API}/unread-count", headers=headers).json() == {"unread": 1}
    assert client.get(f"{API}/unread-count", headers=auth_headers(other)).json() == {"unread": 1}
    unread = client.get(API, params={"unread_only": "true"}, headers=headers).json()
    assert [item["id"] for item in unread["items"]] == [mine[1]["id"]]

    assert client.post(f"{API}/read", json={"all": True}, headers=headers).json() == {"marked": 1}
    assert client.get(f"{API}/unread-count", headers=headers).json() == {"unread": 0}
    assert client.get(f"{API}/unread-count", headers=auth_headers(other)).json() == {"unread": 1}


@pytest.mark.parametrize(
    "body",
    [{}, {"ids": [], "all": True}, {"all": False}, {"all": 1}, {"ids": ["not-a-uuid"]},
     {"ids": ["00000000-0000-0000-0000-000000000000"] * 501}],
)  # fmt: skip
def test_mark_read_refuses_bad_bodies(
    client: TestClient, student: Any, auth_headers: Any, body: dict[str, Any]
) -> None:
    _notify(student)
    answer = client.post(f"{API}/read", json=body, headers=auth_headers(student))
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"{API}/unread-count", headers=auth_headers(student)).json() == {"unread": 1}
    assert client.post(f"{API}/read", json={"all": True}).status_code == 401


def test_preferences_choose_channels_per_category(
    client: TestClient, student: Any, auth_headers: Any
) -> None:
    headers = auth_headers(student)
    defaults = client.get(f"{API}/preferences", headers=headers).json()["categories"]
    assert set(defaults) == {c.value for c in NotificationCategory}
    assert all(v == {"in_app": True, "email": True} for v in defaults.values())

    body = {
        "categories": {
            "grades": {"in_app": False, "email": True},
            "payments": {"in_app": True, "email": False},
            "mentions": {"in_app": False, "email": False},
        }
    }
    saved = client.put(f"{API}/preferences", json=body, headers=headers).json()["categories"]
    assert saved["grades"] == {"in_app": False, "email": True}
    assert saved["announcements"] == {"in_app": True, "email": True}

    _notify(student, NotificationCategory.GRADES, "grade")
    _notify(student, NotificationCategory.PAYMENTS, "paid")
    _notify(student, NotificationCategory.MENTIONS, "mentioned")
    titles = [i["title"] for i in client.get(API, headers=headers).json()["items"]]
    assert titles == ["paid"]
    assert [e["subject"] for e in outbox_entries()] == ["grade"]


@pytest.mark.parametrize(
    "body",
    [{"categories": {}}, {"categories": {"security": {"in_app": False, "email": False}}},
     {"categories": {"grades": {"in_app": "no", "email": False}}},
     {"categories": {"grades": {"in_app": False}}}, {}],
)  # fmt: skip
def test_preferences_refuse_unknown_categories_and_bad_values(
    client: TestClient, student: Any, auth_headers: Any, body: dict[str, Any]
) -> None:
    headers = auth_headers(student)
    assert client.put(f"{API}/preferences", json=body, headers=headers).status_code == 422
    with session_scope() as db:
        assert db.scalars(select(NotificationPreference)).all() == []
    assert client.get(f"{API}/preferences").status_code == 401


def test_security_emails_cannot_be_turned_off(
    client: TestClient, student: Any, auth_headers: Any
) -> None:
    off = {"in_app": False, "email": False}
    body = {"categories": {c.value: off for c in NotificationCategory}}
    client.put(f"{API}/preferences", json=body, headers=auth_headers(student))
    answer = client.post("/api/v1/auth/forgot-password", json={"email": student.email})
    assert answer.status_code in (200, 202, 204)
    [entry] = outbox_entries()
    assert entry["to"] == student.email
    assert _message(entry)["List-Unsubscribe"] is None


def test_emails_carry_a_one_click_unsubscribe_for_their_recipient_and_category(
    client: TestClient, student: Any, make_user: Any, auth_headers: Any
) -> None:
    other = make_user()
    _notify(student, NotificationCategory.GRADES)
    _notify(other, NotificationCategory.GRADES)
    mine, theirs = outbox_entries()
    message = _message(mine)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = message["List-Unsubscribe"].strip("<>")
    assert link.startswith("http://testserver/api/v1/notifications/unsubscribe?token=")

    # RFC 8058: a POST with the one-click body, no sign-in.
    answer = client.post(
        link.replace("http://testserver", ""),
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"category": "grades", "email": False}
    prefs = client.get(f"{API}/preferences", headers=auth_headers(student)).json()["categories"]
    assert prefs["grades"] == {"in_app": True, "email": False}
    assert prefs["payments"]["email"] is True
    other_prefs = client.get(f"{API}/preferences", headers=auth_headers(other)).json()
    assert other_prefs["categories"]["grades"]["email"] is True
    # A GET (a link scanner) changes nothing.
    assert client.get(f"{API}/unsubscribe", params={"token": _token_of(theirs)}).status_code == 405

    clear_outbox()
    _notify(student, NotificationCategory.GRADES)
    assert outbox_entries() == []


def test_tampered_or_reassigned_unsubscribe_tokens_are_refused(
    client: TestClient, student: Any, make_user: Any, auth_headers: Any
) -> None:
    other = make_user()
    _notify(student, NotificationCategory.GRADES)
    token = _token_of(outbox_entries()[0])
    user_hex, category, signature = token.split(".")
    forged = [
        f"{other.id.hex}.{category}.{signature}",  # someone else's id, my signature
        f"{user_hex}.payments.{signature}",  # another category
        f"{user_hex}.{category}.{signature[:-2]}xx",  # a changed signature
        f"{user_hex}.{category}",
        f"{user_hex}.security.{signature}",
        "garbage",
        "",
    ]
    for value in forged:
        answer = client.post(f"{API}/unsubscribe", params={"token": value})
        assert answer.status_code in (400, 422), (value, answer.status_code)
        assert answer.headers["content-type"].startswith("application/problem+json")
    for user in (student, other):
        prefs = client.get(f"{API}/preferences", headers=auth_headers(user)).json()["categories"]
        assert all(v["email"] for v in prefs.values())
    # Replaying a valid token is harmless: it only repeats the same choice.
    for _ in range(2):
        assert client.post(f"{API}/unsubscribe", params={"token": token}).status_code == 200


def test_global_email_opt_out_still_fills_the_inbox(
    client: TestClient, make_user: Any, auth_headers: Any
) -> None:
    quiet = make_user(email_opt_out=True)
    _notify(quiet, NotificationCategory.GRADES, "graded")
    assert outbox_entries() == []
    assert client.get(f"{API}/unread-count", headers=auth_headers(quiet)).json() == {"unread": 1}
