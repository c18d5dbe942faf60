"""A learner's data export: built in the background, downloaded through a signed link, and
holding what the test created in every module."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any
from urllib.parse import urlsplit

from tests.modules.privacy.conftest import Learner


def _download(client: Any, url: str) -> zipfile.ZipFile:
    parts = urlsplit(url)
    response = client.get(parts.path)
    assert response.status_code == 200, response.text
    return zipfile.ZipFile(io.BytesIO(response.content))


def _ready(client: Any, path: str, headers: dict[str, str]) -> dict[str, Any]:
    started = client.post(path, headers=headers)
    assert started.status_code == 202, started.text
    assert started.json()["download_url"] is None
    return started.json()


def test_my_export_holds_my_data(client: Any, learner: Learner) -> None:
    started = _ready(client, "/api/v1/users/me/export", learner.headers)
    shown = client.get(f"/api/v1/users/me/exports/{started['id']}", headers=learner.headers)
    assert shown.status_code == 200
    body = shown.json()
    assert body["status"] == "ready" and body["size_bytes"] > 0
    assert body["download_expires_at"] is not None
    archive = _download(client, body["download_url"])
    names = set(archive.namelist())
    expected = {
        "README.txt",
        "profile.json",
        "enrollments.json",
        "progress.json",
        "quiz_attempts.json",
        "submissions.json",
        "grades.json",
        "certificates.json",
        "payments.json",
        "notifications.json",
        "files.json",
        "inbox.json",
        "discussions.json",
    }
    assert expected <= names

    def load(name: str) -> list[dict[str, Any]]:
        return json.loads(archive.read(name))

    personal = learner.personal
    [profile] = load("profile.json")
    assert profile["email"] == personal["email"] and profile["bio"] == personal["bio"]
    assert not {"password_hash", "mfa_secret_ciphertext", "token_version"} & set(profile)
    [enrollment] = load("enrollments.json")
    assert enrollment["review"] == personal["review"]
    assert enrollment["course_title"] == "Marine Biology"
    [progress] = load("progress.json")
    assert progress["status"] == "completed" and progress["time_spent_seconds"] == 600
    [attempt] = load("quiz_attempts.json")
    assert attempt["answers"] == {"q1": personal["answer"]} and attempt["score"] == "8.00"
    assert "results" not in attempt  # the grading detail names the correct answers
    [submission] = load("submissions.json")
    assert submission["content"] == personal["essay"]
    assert submission["file_ids"] == [learner.file_id]
    grades = {g["kind"]: g for g in load("grades.json")}
    assert grades["assignment"]["score"] == "91.00"
    assert grades["assignment"]["feedback"] == personal["feedback"]
    assert grades["quiz"]["passed"] is True
    tool_grade = grades["lti"]
    assert (tool_grade["column"], tool_grade["score"], tool_grade["maximum"]) == (
        "Simulation",
        "17.0000",
        "20.0000",
    )
    assert tool_grade["comment"] == personal["tool_comment"]
    [certificate] = load("certificates.json")
    assert certificate["certificate_number"] == "LMS-2026-ZQ0001"
    assert certificate["student_name"] == personal["name"]
    [payment] = load("payments.json")
    assert payment["amount"] == "49.00" and payment["currency"] == "USD"
    assert "4242" not in archive.read("payments.json").decode()
    assert not {"metadata_", "payment_method", "checkout_url"} & set(payment)
    [notification] = load("notifications.json")
    assert notification["job"] == "weekly_progress_report"
    [inbox] = load("inbox.json")
    assert inbox["title"] == "Your essay was graded"
    thread, post = load("discussions.json")
    assert (thread["type"], thread["title"]) == ("thread", "Tide tables")
    assert (post["type"], post["body"]) == ("post", "When is low tide?")
    [upload] = load("files.json")
    assert upload["original_filename"] == "zelda-notes.txt"
    stored = [n for n in names if n.startswith("files/")]
    assert stored == [f"files/{learner.file_id}-zelda-notes.txt"]
    assert archive.read(stored[0]) == learner.file_bytes
    readme = archive.read("README.txt").decode()
    assert "payments.json" in readme and "card data" in readme


def test_an_export_is_private_to_its_person(
    client: Any, learner: Learner, make_user: Any, auth_headers: Any, admin: Any
) -> None:
    started = _ready(client, "/api/v1/users/me/export", learner.headers)
    other = auth_headers(make_user())
    assert client.get(f"/api/v1/users/me/exports/{started['id']}", headers=other).status_code == 404
    path = f"/api/v1/users/{learner.user.id}/exports/{started['id']}"
    assert client.get(path, headers=other).status_code == 403
    assert client.get(path).status_code == 401
    assert client.post(f"/api/v1/users/{learner.user.id}/export", headers=other).status_code == 403
    assert client.post("/api/v1/users/me/export").status_code == 401
    # An admin reads it under the person's id, and not under another's.
    assert client.get(path, headers=auth_headers(admin)).json()["status"] == "ready"
    wrong = f"/api/v1/users/{admin.id}/exports/{started['id']}"
    assert client.get(wrong, headers=auth_headers(admin)).status_code == 404


def test_an_admin_exports_any_account(
    client: Any, learner: Learner, admin: Any, auth_headers: Any
) -> None:
    headers = auth_headers(admin)
    started = _ready(client, f"/api/v1/users/{learner.user.id}/export", headers)
    assert started["user_id"] == str(learner.user.id)
    assert started["requested_by_id"] == str(admin.id)
    shown = client.get(
        f"/api/v1/users/{learner.user.id}/exports/{started['id']}", headers=headers
    ).json()
    archive = _download(client, shown["download_url"])
    assert json.loads(archive.read("profile.json"))[0]["email"] == learner.personal["email"]
    missing = "00000000-0000-4000-8000-000000000000"
    assert client.post(f"/api/v1/users/{missing}/export", headers=headers).status_code == 404


def test_a_forged_download_link_is_refused(client: Any, learner: Learner) -> None:
    started = _ready(client, "/api/v1/users/me/export", learner.headers)
    url = client.get(f"/api/v1/users/me/exports/{started['id']}", headers=learner.headers).json()[
        "download_url"
    ]
    path = urlsplit(url).path
    forged = path[:-4] + ("AAAA" if not path.endswith("AAAA") else "BBBB")
    assert client.get(forged).status_code == 403


def test_my_exports_are_listed_newest_first_and_to_me_only(
    client: Any, learner: Learner, make_user: Any, auth_headers: Any, admin: Any
) -> None:
    first = _ready(client, "/api/v1/users/me/export", learner.headers)
    second = _ready(client, "/api/v1/users/me/export", learner.headers)
    page = client.get("/api/v1/users/me/exports?page_size=1", headers=learner.headers)
    assert page.status_code == 200, page.text
    body = page.json()
    assert (body["total"], body["pages"], len(body["items"])) == (2, 2, 1)
    [newest] = body["items"]
    assert newest["id"] == second["id"] and newest["download_url"] is not None
    older = client.get("/api/v1/users/me/exports?page=2&page_size=1", headers=learner.headers)
    assert [item["id"] for item in older.json()["items"]] == [first["id"]]
    # Another person sees none of them, and cannot list the learner's under their id.
    other = auth_headers(make_user())
    assert client.get("/api/v1/users/me/exports", headers=other).json()["total"] == 0
    path = f"/api/v1/users/{learner.user.id}/exports"
    assert client.get(path, headers=other).status_code == 403
    assert client.get("/api/v1/users/me/exports").status_code == 401
    # An admin lists them under the person's id; an unknown account is a 404.
    listed = client.get(path, headers=auth_headers(admin)).json()
    assert [item["id"] for item in listed["items"]] == [second["id"], first["id"]]
    missing = "/api/v1/users/00000000-0000-4000-8000-000000000000/exports"
    assert client.get(missing, headers=auth_headers(admin)).status_code == 404
