"""A lesson's files follow the lesson's release rule: while the lesson is locked for a
student, its files' download, metadata and link routes answer 403 `item_locked` with the
reasons (clock set by the test)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from app.core.database import session_scope
from app.modules.files.models import UploadedFile
from tests.modules.courses.factories import create_course, create_enrollment
from tests.modules.courses.structure import NOW, lesson_entry, section_of, set_items
from tests.modules.files.samples import PDF

H = Callable[[Any], dict[str, str]]


def _upload(client: TestClient, headers: dict[str, str], **data: Any) -> Any:
    return client.post(
        "/api/v1/files/upload", headers=headers, files={"file": ("notes.pdf", PDF)}, data=data
    )


def _routes(file_id: str) -> list[str]:
    return [
        f"/api/v1/files/download/{file_id}",
        f"/api/v1/files/{file_id}",
        f"/api/v1/files/{file_id}/download-url",
    ]


def test_a_locked_lessons_file_is_refused_until_the_lesson_opens(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any
) -> None:
    course = create_course(instructor, lessons=2)
    create_enrollment(student, course, enrolled_at=NOW)
    first, second = course.lesson_ids
    opens = NOW + timedelta(days=2)
    items = [lesson_entry(first), lesson_entry(second, available_from=opens.isoformat())]
    h = auth_headers(instructor)
    assert set_items(client, course, section_of(course.id), items, h).status_code == 200
    uploaded = _upload(client, h, lesson_id=str(second))
    assert uploaded.status_code == 201, uploaded.text
    meta = uploaded.json()
    # The lesson's course is the file's course.
    assert (meta["lesson_id"], meta["course_id"]) == (str(second), str(course.id))
    open_file = _upload(client, h, lesson_id=str(first)).json()

    for url in _routes(meta["id"]):
        refused = client.get(url, headers=auth_headers(student))
        assert refused.status_code == 403, (url, refused.text)
        body = refused.json()
        assert body["code"] == "item_locked"
        assert [reason["reason"] for reason in body["reasons"]] == ["not_yet_available"]
        assert body["reasons"][0]["unlock_at"] == body["unlock_at"]
        assert body["unlock_at"].startswith(opens.isoformat()[:19])
        assert client.get(url, headers=h).status_code == 200
    downloaded = client.get(
        f"/api/v1/files/download/{open_file['id']}", headers=auth_headers(student)
    )
    assert downloaded.status_code == 200
    assert downloaded.content == PDF

    clock(opens)
    for url in _routes(meta["id"]):
        assert client.get(url, headers=auth_headers(student)).status_code == 200, url


def test_a_lesson_file_waits_for_the_lessons_prerequisite(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any
) -> None:
    course = create_course(instructor, lessons=2)
    enrollment_id = create_enrollment(student, course, enrolled_at=NOW)
    first, second = course.lesson_ids
    needs_first = {"prerequisites": [{"kind": "lesson", "id": str(first)}]}
    items = [lesson_entry(first), lesson_entry(second, **needs_first)]
    h = auth_headers(instructor)
    assert set_items(client, course, section_of(course.id), items, h).status_code == 200
    file_id = _upload(client, h, lesson_id=str(second)).json()["id"]
    url = f"/api/v1/files/download/{file_id}"

    refused = client.get(url, headers=auth_headers(student))
    assert refused.status_code == 403
    assert [reason["reason"] for reason in refused.json()["reasons"]] == ["prerequisite"]
    done = client.post(
        f"/api/v1/enrollments/{enrollment_id}/lessons/{first}/complete",
        headers=auth_headers(student),
    )
    assert done.status_code == 200, done.text
    assert client.get(url, headers=auth_headers(student)).status_code == 200


def test_a_lesson_file_is_hidden_from_students_of_other_courses_and_unpublished_sections(
    client: TestClient,
    instructor: Any,
    student: Any,
    make_user: Any,
    auth_headers: H,
    clock: Any,
) -> None:
    course = create_course(instructor, lessons=2)
    create_enrollment(student, course, enrolled_at=NOW)
    outsider = make_user(role="student", email="outsider@example.com")
    h = auth_headers(instructor)
    draft = client.post(
        f"/api/v1/courses/{course.id}/sections",
        json={"title": "Draft", "is_published": False},
        headers=h,
    ).json()["id"]
    moved = set_items(client, course, draft, [lesson_entry(course.lesson_ids[1])], h)
    assert moved.status_code == 200, moved.text
    hidden = _upload(client, h, lesson_id=str(course.lesson_ids[1])).json()["id"]
    visible = _upload(client, h, lesson_id=str(course.lesson_ids[0])).json()["id"]

    assert (
        client.get(f"/api/v1/files/download/{hidden}", headers=auth_headers(student)).status_code
        == 404
    )
    assert client.get(f"/api/v1/files/{hidden}", headers=auth_headers(student)).status_code == 404
    for file_id in (hidden, visible):
        url = f"/api/v1/files/download/{file_id}"
        assert client.get(url, headers=auth_headers(outsider)).status_code == 404


def test_attaching_a_file_to_a_lesson_checks_the_lesson(
    client: TestClient, instructor: Any, make_user: Any, auth_headers: H
) -> None:
    course = create_course(instructor, lessons=1)
    other_course = create_course(instructor, lessons=1)
    stranger = make_user(role="instructor", email="stranger@example.com")
    [lesson_id] = course.lesson_ids
    h = auth_headers(instructor)

    mismatch = _upload(client, h, lesson_id=str(lesson_id), course_id=str(other_course.id))
    assert mismatch.status_code == 422, mismatch.text
    assert mismatch.json()["code"] == "lesson_not_in_course"
    unknown = _upload(client, h, lesson_id="00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "lesson_not_found"
    # Only the course's staff attach files to its lessons.
    foreign = _upload(client, auth_headers(stranger), lesson_id=str(lesson_id))
    assert foreign.status_code in (403, 404), foreign.text
    with session_scope() as db:
        assert db.query(UploadedFile).count() == 0


def test_a_lessons_file_cannot_be_public(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any
) -> None:
    course = create_course(instructor, lessons=1)
    create_enrollment(student, course, enrolled_at=NOW)
    [lesson_id] = course.lesson_ids
    later = (NOW + timedelta(days=2)).isoformat()
    h = auth_headers(instructor)
    items = [lesson_entry(lesson_id, available_from=later)]
    assert set_items(client, course, section_of(course.id), items, h).status_code == 200

    # Public files are served to anyone unchecked, which would open a locked lesson's file.
    public = _upload(client, h, lesson_id=str(lesson_id), is_public="true")
    assert public.status_code == 422, public.text
    assert public.json()["code"] == "public_lesson_file"
    with session_scope() as db:
        assert db.query(UploadedFile).count() == 0
    # A public course material (no lesson) stays possible.
    assert _upload(client, h, course_id=str(course.id), is_public="true").status_code == 201

    # The database holds the rule too: no path can store a public lesson file.
    private = _upload(client, h, lesson_id=str(lesson_id))
    assert private.status_code == 201
    with pytest.raises(IntegrityError), session_scope() as db:
        db.get(UploadedFile, uuid.UUID(private.json()["id"])).is_public = True
    url = f"/api/v1/files/download/{private.json()['id']}"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=auth_headers(student)).json()["code"] == "item_locked"
