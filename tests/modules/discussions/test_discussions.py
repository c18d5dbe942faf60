"""Discussions: the access matrix, moderation (pin, lock, hide, answer), followers and
mentions, limits (size, posting rate) and search."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.database import session_scope
from app.modules.discussions.models import DiscussionPost, DiscussionThread
from app.modules.notifications.models import Notification
from tests.modules.announcements.factories import Classroom, create_classroom
from tests.modules.courses.staff_factories import add_staff


@pytest.fixture
def room(make_user: Any) -> Classroom:
    return create_classroom(make_user)


def _url(room: Classroom, suffix: str = "") -> str:
    return f"/api/v1/courses/{room.course.id}/discussions{suffix}"


def _thread(client: TestClient, room: Classroom, user: Any, auth: Any, **body: Any) -> Any:
    answer = client.post(_url(room), json={"title": "Limits", "body": "How do limits work?",
                                           **body}, headers=auth(user))  # fmt: skip
    assert answer.status_code == 201, answer.text
    return answer.json()


def _reply(client: TestClient, room: Classroom, thread: Any, user: Any, auth: Any,
           body: str = "Like this.") -> Any:  # fmt: skip
    return client.post(_url(room, f"/{thread['id']}/posts"), json={"body": body},
                       headers=auth(user))  # fmt: skip


def _inbox(user: Any) -> list[tuple[str, str]]:
    with session_scope() as db:
        rows = db.execute(
            select(Notification.category, Notification.title).where(Notification.user_id == user.id)
        ).all()
        return sorted((row[0], row[1]) for row in rows)


def _count(model: Any) -> int:
    with session_scope() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_access_matrix(client: TestClient, room: Classroom, auth_headers: Any) -> None:
    thread = _thread(client, room, room.student_a, auth_headers)
    posts = _url(room, f"/{thread['id']}/posts")
    for member in (room.student_a, room.student_b, room.author, room.admin):
        headers = auth_headers(member)
        assert client.get(_url(room), headers=headers).json()["total"] == 1
        assert client.get(_url(room, f"/{thread['id']}"), headers=headers).status_code == 200
        assert client.get(posts, headers=headers).json()["total"] == 1
    for stranger in (room.outsider, room.other_instructor):
        headers = auth_headers(stranger)
        assert client.get(_url(room), headers=headers).status_code == 403
        assert client.get(_url(room, f"/{thread['id']}"), headers=headers).status_code == 403
        assert client.get(posts, headers=headers).status_code == 403
        assert client.post(posts, json={"body": "x"}, headers=headers).status_code == 403
        assert client.post(_url(room), json={"title": "t", "body": "b"},
                           headers=headers).status_code == 403  # fmt: skip
        follow = client.put(_url(room, f"/{thread['id']}/follow"), headers=headers)
        assert follow.status_code == 403
    for anonymous in (client.get(_url(room)), client.post(posts, json={"body": "x"})):
        assert anonymous.status_code == 401
    # A thread id under another course's path is not found there.
    elsewhere = f"/api/v1/courses/{room.other_course.id}/discussions/{thread['id']}"
    assert client.get(elsewhere, headers=auth_headers(room.other_instructor)).status_code == 404
    assert _count(DiscussionPost) == 1


def test_students_edit_and_delete_only_their_own_posts(
    client: TestClient, room: Classroom, auth_headers: Any
) -> None:
    thread = _thread(client, room, room.student_a, auth_headers)
    reply = _reply(client, room, thread, room.student_b, auth_headers).json()
    post = _url(room, f"/{thread['id']}/posts/{reply['id']}")
    for intruder in (room.student_a, room.author, room.admin):
        edit = client.patch(post, json={"body": "hacked"}, headers=auth_headers(intruder))
        assert edit.status_code == 403
    assert client.delete(post, headers=auth_headers(room.student_a)).status_code == 403
    assert client.patch(post, json={"is_hidden": True},
                        headers=auth_headers(room.student_b)).status_code == 403  # fmt: skip
    edited = client.patch(
        post, json={"body": "Better *answer*"}, headers=auth_headers(room.student_b)
    )
    assert edited.status_code == 200 and edited.json()["edited_at"]
    assert edited.json()["body_html"] == "<p>Better <em>answer</em></p>\n"
    assert (
        client.patch(post, json={"body": None}, headers=auth_headers(room.student_b)).status_code
        == 422
    )
    assert client.delete(post, headers=auth_headers(room.student_b)).status_code == 204
    assert client.delete(post, headers=auth_headers(room.student_b)).status_code == 404
    assert _count(DiscussionPost) == 1


def test_moderation_pin_lock_hide_and_answer(
    client: TestClient, room: Classroom, auth_headers: Any
) -> None:
    question = _thread(client, room, room.student_a, auth_headers, kind="question")
    other = _thread(client, room, room.student_b, auth_headers, title="Later one")
    assert question["answered"] is False
    thread_url = _url(room, f"/{question['id']}")
    reply = _reply(client, room, question, room.student_b, auth_headers).json()
    for student in (room.student_a, room.student_b):
        for change in ({"is_pinned": True}, {"is_locked": True}, {"answer_post_id": reply["id"]}):
            assert client.patch(thread_url, json=change,
                                headers=auth_headers(student)).status_code == 403  # fmt: skip

    manager = auth_headers(room.author)
    titles = [t["title"] for t in client.get(_url(room), headers=manager).json()["items"]]
    assert titles == ["Limits", "Later one"]  # the reply made "Limits" the latest
    pin = client.patch(_url(room, f"/{other['id']}"), json={"is_pinned": True}, headers=manager)
    assert pin.status_code == 200 and pin.json()["is_pinned"] is True
    titles = [t["title"] for t in client.get(_url(room), headers=manager).json()["items"]]
    assert titles == ["Later one", "Limits"]

    answered = client.patch(thread_url, json={"answer_post_id": reply["id"]}, headers=manager)
    assert answered.json()["answered"] is True
    foreign = _reply(client, room, other, room.student_a, auth_headers).json()
    wrong = client.patch(thread_url, json={"answer_post_id": foreign["id"]}, headers=manager)
    assert wrong.status_code == 422 and wrong.json()["code"] == "invalid_answer"

    hidden = client.patch(_url(room, f"/{question['id']}/posts/{reply['id']}"),
                          json={"is_hidden": True}, headers=auth_headers(room.admin))  # fmt: skip
    assert hidden.status_code == 200 and hidden.json()["is_hidden"] is True
    posts = _url(room, f"/{question['id']}/posts")
    assert client.get(posts, headers=auth_headers(room.student_a)).json()["total"] == 1
    assert client.get(posts, headers=auth_headers(room.student_b)).json()["total"] == 1
    assert client.get(posts, headers=manager).json()["total"] == 2
    detail = client.get(thread_url, headers=auth_headers(room.student_a)).json()
    assert detail["answered"] is False  # a hidden post is no answer
    assert client.get(_url(room, f"/{question['id']}/posts/{reply['id']}"),
                      headers=auth_headers(room.student_b)).status_code == 405  # fmt: skip
    hidden_url = _url(room, f"/{question['id']}/posts/{reply['id']}")
    hidden_edit = client.patch(hidden_url, json={"body": "x"}, headers=auth_headers(room.student_b))
    assert hidden_edit.status_code == 404

    assert client.patch(thread_url, json={"is_locked": True}, headers=manager).status_code == 200
    locked = _reply(client, room, question, room.student_a, auth_headers)
    assert locked.status_code == 409 and locked.json()["code"] == "thread_locked"
    assert _count(DiscussionPost) == 4


def test_followers_and_mentions_are_notified_but_not_for_their_own_posts(
    client: TestClient, room: Classroom, auth_headers: Any
) -> None:
    thread = _thread(client, room, room.student_a, auth_headers, title="Proofs")
    _reply(client, room, thread, room.student_b, auth_headers)
    assert _inbox(room.student_a) == [("discussion_replies", "Grace Hopper replied in Proofs")]
    assert _inbox(room.student_b) == []
    client.put(_url(room, f"/{thread['id']}/follow"), headers=auth_headers(room.student_plain))
    _reply(client, room, thread, room.student_a, auth_headers,
           body="Thanks @gracehopper and @AdaLovelace, not @OutsidePerson or @nobody")  # fmt: skip
    assert _inbox(room.student_b) == [("mentions", "Alan Turing mentioned you in Proofs")]
    assert _inbox(room.author) == [("mentions", "Alan Turing mentioned you in Proofs")]
    assert _inbox(room.outsider) == []
    assert _inbox(room.student_plain) == [("discussion_replies", "Alan Turing replied in Proofs")]
    assert len(_inbox(room.student_a)) == 1

    unfollow = client.delete(
        _url(room, f"/{thread['id']}/follow"), headers=auth_headers(room.student_plain)
    )
    assert unfollow.json() == {"following": False}
    _reply(client, room, thread, room.student_b, auth_headers, body="More")
    assert len(_inbox(room.student_plain)) == 1
    assert len(_inbox(room.student_a)) == 2


def test_course_staff_hear_of_posts_and_students_not_of_threads_they_cannot_see(
    client: TestClient, room: Classroom, auth_headers: Any, make_user: Any
) -> None:
    assistant = make_user(role="instructor", full_name="Emmy Noether")
    add_staff(room.course.id, assistant, "teaching_assistant")
    thread = _thread(client, room, room.student_a, auth_headers, title="Rings")
    assert client.put(_url(room, f"/{thread['id']}/follow"),
                      headers=auth_headers(assistant)).status_code == 200  # fmt: skip
    _reply(client, room, thread, room.student_b, auth_headers, body="Ask @EmmyNoether")
    # The assistant reads the course's discussions, so is mentioned (and not told twice).
    assert _inbox(assistant) == [("mentions", "Grace Hopper mentioned you in Rings")]

    teacher = auth_headers(room.author)
    sections = f"/api/v1/courses/{room.course.id}/sections"
    hidden = client.post(sections, json={"title": "Later"}, headers=teacher).json()["id"]
    lesson = str(room.course.lesson_ids[-1])
    items = {"items": [{"kind": "lesson", "id": lesson}]}
    assert client.put(f"{sections}/{hidden}/items", json=items, headers=teacher).status_code == 200
    secret = _thread(client, room, room.author, auth_headers, title="Exam plan",
                     item_type="lesson", item_id=lesson)  # fmt: skip
    client.put(_url(room, f"/{secret['id']}/follow"), headers=auth_headers(assistant))
    _reply(client, room, secret, room.author, auth_headers,
           body="@AlanTuring @EmmyNoether see the plan")  # fmt: skip
    # A student cannot open the thread, so is not sent to it.
    assert [title for _, title in _inbox(room.student_a)] == ["Grace Hopper replied in Rings"]
    assert ("mentions", "Ada Lovelace mentioned you in Exam plan") in _inbox(assistant)


def test_size_and_item_rules(
    client: TestClient, room: Classroom, auth_headers: Any, env: Any
) -> None:
    env(DISCUSSION_POST_MAX_CHARS="200")
    headers = auth_headers(room.student_a)
    too_long = client.post(_url(room), json={"title": "t", "body": "x" * 201}, headers=headers)
    assert too_long.status_code == 422 and too_long.json()["code"] == "post_too_long"
    lesson = str(room.course.lesson_ids[0])
    bad = [
        {"title": "", "body": "b"},
        {"title": "t", "body": ""},
        {"title": "t", "body": "b", "kind": "poll"},
        {"title": "t", "body": "b", "item_type": "lesson"},
        {"title": "t", "body": "b", "item_type": "lesson", "item_id": str(uuid.uuid4())},
        {"title": "t", "body": "b", "item_type": "video", "item_id": lesson},
    ]
    for body in bad:
        assert client.post(_url(room), json=body, headers=headers).status_code == 422, body
    assert _count(DiscussionThread) == 0
    thread = _thread(client, room, room.student_a, auth_headers, item_type="lesson", item_id=lesson)
    assert thread["item_id"] == lesson and thread["item_type"] == "lesson"
    reply = _reply(client, room, thread, room.student_b, auth_headers, body="y" * 201)
    assert reply.status_code == 422
    assert _count(DiscussionPost) == 1


def test_threads_about_hidden_items_are_for_managers_only(
    client: TestClient, room: Classroom, auth_headers: Any
) -> None:
    teacher, student = auth_headers(room.author), auth_headers(room.student_a)
    sections = f"/api/v1/courses/{room.course.id}/sections"
    hidden = client.post(sections, json={"title": "Next term"}, headers=teacher).json()["id"]
    lesson = str(room.course.lesson_ids[-1])
    items = {"items": [{"kind": "lesson", "id": lesson}]}
    moved = client.put(f"{sections}/{hidden}/items", json=items, headers=teacher)
    assert moved.status_code == 200, moved.text
    about = {"item_type": "lesson", "item_id": lesson}
    # A student cannot tell an item of an unpublished section from no item at all.
    refused = client.post(_url(room), json={"title": "t", "body": "b", **about}, headers=student)
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_item"
    thread = _thread(client, room, room.author, auth_headers, title="Next term's lab", **about)
    for path in (f"/{thread['id']}", f"/{thread['id']}/posts"):
        assert client.get(_url(room, path), headers=student).status_code == 404
    assert _reply(client, room, thread, room.student_a, auth_headers).status_code == 404
    follow = client.put(_url(room, f"/{thread['id']}/follow"), headers=student)
    assert follow.status_code == 404
    assert client.get(_url(room), headers=student).json()["total"] == 0
    searched = client.get(_url(room), params={"q": "lab"}, headers=student).json()
    assert searched["total"] == 0
    assert client.get(_url(room), headers=auth_headers(room.admin)).json()["total"] == 1
    assert _count(DiscussionPost) == 1

    published = client.patch(f"{sections}/{hidden}", json={"is_published": True}, headers=teacher)
    assert published.status_code == 200, published.text
    assert client.get(_url(room), headers=student).json()["total"] == 1
    assert client.get(_url(room, f"/{thread['id']}"), headers=student).status_code == 200
    assert _reply(client, room, thread, room.student_a, auth_headers).status_code == 201


def test_students_posting_too_fast_get_429_with_retry_after(
    client: TestClient, room: Classroom, auth_headers: Any, env: Any
) -> None:
    env(DISCUSSION_POSTS_PER_MINUTE="3")
    thread = _thread(client, room, room.student_a, auth_headers)
    for _ in range(2):
        assert _reply(client, room, thread, room.student_a, auth_headers).status_code == 201
    refused = _reply(client, room, thread, room.student_a, auth_headers)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["code"] == "posting_rate_limited"
    # Another student's budget is their own; managers are not limited.
    assert _reply(client, room, thread, room.student_b, auth_headers).status_code == 201
    for _ in range(4):
        assert _reply(client, room, thread, room.author, auth_headers).status_code == 201
    assert _count(DiscussionPost) == 8


def test_search_titles_and_visible_posts(
    client: TestClient, room: Classroom, auth_headers: Any
) -> None:
    first = _thread(client, room, room.student_a, auth_headers, title="Integration by parts",
                    body="Which rule applies?")  # fmt: skip
    second = _thread(client, room, room.student_b, auth_headers, title="Homework",
                     body="Question about vectors")  # fmt: skip
    secret = _reply(client, room, second, room.student_a, auth_headers, body="matrices here").json()
    client.patch(_url(room, f"/{second['id']}/posts/{secret['id']}"), json={"is_hidden": True},
                 headers=auth_headers(room.author))  # fmt: skip

    def found(q: str, user: Any) -> list[str]:
        answer = client.get(_url(room), params={"q": q}, headers=auth_headers(user))
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["items"]]

    assert found("integration", room.student_b) == [first["id"]]
    assert found("vectors", room.student_b) == [second["id"]]
    assert found("matrices", room.student_b) == []
    assert found("matrices", room.author) == [second["id"]]
    assert found("100%", room.student_b) == [] and found("_", room.student_b) == []
    assert (
        client.get(_url(room), params={"q": ""}, headers=auth_headers(room.student_a)).status_code
        == 422
    )
    assert (
        client.get(
            _url(room), params={"q": "integration"}, headers=auth_headers(room.outsider)
        ).status_code
        == 403
    )
