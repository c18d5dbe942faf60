"""Assignments: authoring, submitting, late penalty, grading bounds and who may see what."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.database import session_scope, utcnow
from app.modules.assignments import service as assignments_service
from app.modules.assignments.models import Submission
from app.modules.notifications import inbox
from tests.modules.assignments.factories import make_assignment, make_file, make_submission
from tests.modules.quizzes.factories import enroll, make_course

H = Callable[[Any], dict[str, str]]
API = "/api/v1/assignments"


@pytest.fixture
def notices(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    recorded: dict[str, list[Any]] = {"events": [], "emails": []}
    # Grade emails go out through the notify path, which queues them.
    emit, queue = assignments_service.emit, inbox.queue_email

    def _emit(session: Any, name: str, payload: dict[str, Any]) -> None:
        recorded["events"].append((name, payload))
        emit(session, name, payload)

    def _queue(session: Any, **kwargs: Any) -> bool:
        recorded["emails"].append(kwargs)
        return queue(session, **kwargs)

    monkeypatch.setattr(assignments_service, "emit", _emit)
    monkeypatch.setattr(inbox, "queue_email", _queue)
    return recorded


def _submission(submission_id: str) -> Submission:
    with session_scope() as db:
        row = db.get(Submission, uuid.UUID(submission_id))
        assert row is not None
        db.expunge(row)
        return row


def test_owner_manages_assignments_and_students_see_published_ones(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    owner = auth_headers(instructor)
    due = (utcnow() + timedelta(days=7)).isoformat()
    created = client.post(
        API,
        json={
            "course_id": str(course.id),
            "title": "Essay",
            "due_at": due,
            "max_points": "50",
            "allowed_file_types": ["PDF", "docx"],
            "lesson_id": str(course.lesson_ids[0]),
        },
        headers=owner,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["allowed_file_types"] == ["pdf", "docx"] and body["max_points"] == "50.00"
    assert body["is_published"] is False
    draft_id = body["id"]

    student_headers = auth_headers(student)
    assert client.get(f"{API}/{draft_id}", headers=student_headers).status_code == 404
    listed = client.get(API, params={"course_id": str(course.id)}, headers=student_headers)
    assert listed.json()["total"] == 0

    published = client.patch(f"{API}/{draft_id}", json={"is_published": True}, headers=owner)
    assert published.status_code == 200 and published.json()["is_published"] is True
    listed = client.get(API, params={"course_id": str(course.id)}, headers=student_headers)
    assert [a["id"] for a in listed.json()["items"]] == [draft_id]
    assert client.get(f"{API}/{draft_id}", headers=student_headers).status_code == 200

    assert client.patch(f"{API}/{draft_id}", json={"title": None}, headers=owner).status_code == 422
    naive = client.post(
        API,
        json={"course_id": str(course.id), "title": "X", "due_at": "2030-01-01T00:00:00"},
        headers=owner,
    )
    assert naive.status_code == 422
    assert client.delete(f"{API}/{draft_id}", headers=owner).status_code == 204
    assert client.get(f"{API}/{draft_id}", headers=owner).status_code == 404


def test_students_and_other_instructors_cannot_author(
    client: TestClient, instructor: Any, student: Any, make_user: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    assignment_id = make_assignment(course)
    body = {"course_id": str(course.id), "title": "Mine"}
    assert client.post(API, json=body, headers=auth_headers(student)).status_code == 403
    other = auth_headers(make_user(role="instructor"))
    assert client.post(API, json=body, headers=other).status_code == 403
    assert (
        client.patch(f"{API}/{assignment_id}", json={"title": "X"}, headers=other).status_code
        == 403
    )
    assert client.delete(f"{API}/{assignment_id}", headers=other).status_code == 403
    listed = client.get(API, params={"course_id": str(course.id)}, headers=auth_headers(instructor))
    assert listed.json()["total"] == 1 and listed.json()["items"][0]["title"] == "Essay"


def test_submit_and_resubmit_until_graded(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    assignment_id = make_assignment(course, due_at=utcnow() + timedelta(days=1))
    headers = auth_headers(student)
    url = f"{API}/{assignment_id}/submissions"

    assert client.post(url, json={"content": "   "}, headers=headers).status_code == 422
    first = client.post(url, json={"content": "Draft one"}, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["is_late"] is False and first.json()["status"] == "submitted"
    again = client.post(url, json={"content": "Draft two"}, headers=headers)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["submission_count"] == 2 and again.json()["content"] == "Draft two"

    graded = client.post(
        f"{API}/submissions/{first.json()['id']}/grade",
        json={"grade": "90", "feedback": "Good"},
        headers=auth_headers(instructor),
    )
    assert graded.status_code == 200
    refused = client.post(url, json={"content": "Draft three"}, headers=headers)
    assert refused.status_code == 409
    assert _submission(first.json()["id"]).content == "Draft two"


def test_only_enrolled_students_submit_to_published_assignments(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    published = make_assignment(course)
    draft = make_assignment(course, published=False)
    headers = auth_headers(student)
    outsider = client.post(f"{API}/{published}/submissions", json={"content": "x"}, headers=headers)
    assert outsider.status_code == 403
    enroll(student, course)
    hidden = client.post(f"{API}/{draft}/submissions", json={"content": "x"}, headers=headers)
    assert hidden.status_code == 404
    as_instructor = client.post(
        f"{API}/{published}/submissions", json={"content": "x"}, headers=auth_headers(instructor)
    )
    assert as_instructor.status_code == 403


def test_late_submission_refused_unless_allowed(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enrollment_id = enroll(student, course)
    closed = make_assignment(course, due_at=utcnow() - timedelta(hours=1), late_policy="refuse")
    headers = auth_headers(student)
    refused = client.post(f"{API}/{closed}/submissions", json={"content": "x"}, headers=headers)
    assert refused.status_code == 422 and refused.json()["code"] == "deadline_passed"
    with session_scope() as db:
        assert db.query(Submission).count() == 0

    # A submission the instructor returned may come back after the due date.
    submission_id = make_submission(closed, enrollment_id, student, status="returned")
    back = client.post(f"{API}/{closed}/submissions", json={"content": "fixed"}, headers=headers)
    assert back.status_code == 200 and back.json()["id"] == str(submission_id)
    assert back.json()["is_late"] is True and back.json()["status"] == "submitted"


def test_late_penalty_is_applied_and_shown(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, notices: dict[str, Any]
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    assignment_id = make_assignment(
        course,
        due_at=utcnow() - timedelta(hours=1),
        late_policy="penalty",
        penalty_percent_per_day=10,
        max_penalty_percent=10,
        max_points=50,
    )
    late = client.post(
        f"{API}/{assignment_id}/submissions",
        json={"content": "late"},
        headers=auth_headers(student),
    )
    assert late.status_code == 201
    assert late.json()["is_late"] is True and late.json()["late_penalty_percent"] == "10.00"
    graded = client.post(
        f"{API}/submissions/{late.json()['id']}/grade",
        json={"grade": "45", "feedback": "Solid, but late."},
        headers=auth_headers(instructor),
    ).json()
    assert (graded["grade"], graded["final_grade"]) == ("45.00", "40.50")
    assert graded["graded_by_id"] == str(instructor.id) and graded["graded_at"]
    seen = client.get(
        f"{API}/submissions/{late.json()['id']}", headers=auth_headers(student)
    ).json()
    assert seen["final_grade"] == "40.50" and seen["feedback"] == "Solid, but late."
    assert notices["events"] == [
        (
            "assignment.graded",
            {
                "submission_id": late.json()["id"],
                "assignment_id": str(assignment_id),
                "student_id": str(student.id),
                "grade": "40.50",
            },
        )
    ]
    [email] = notices["emails"]
    assert email["template"] == "assignment_graded" and email["to"] == student.email
    # A grade is a notification category: the student's preference decides, and the email
    # carries the one-click unsubscribe headers.
    assert email["transactional"] is False and email["context"]["is_late"] is True
    assert email["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize("grade", ["-1", "50.01", "abc"])
def test_grade_must_be_within_bounds(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, grade: str
) -> None:
    course = make_course(instructor)
    enrollment_id = enroll(student, course)
    assignment_id = make_assignment(course, max_points=50)
    submission_id = make_submission(assignment_id, enrollment_id, student)
    response = client.post(
        f"{API}/submissions/{submission_id}/grade",
        json={"grade": grade},
        headers=auth_headers(instructor),
    )
    assert response.status_code == 422
    row = _submission(str(submission_id))
    assert row.grade is None and row.status == "submitted"


@pytest.mark.parametrize("grade", ["0", "50"])
def test_grade_bounds_are_inclusive(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, grade: str
) -> None:
    course = make_course(instructor)
    enrollment_id = enroll(student, course)
    assignment_id = make_assignment(course, max_points=50)
    submission_id = make_submission(assignment_id, enrollment_id, student)
    response = client.post(
        f"{API}/submissions/{submission_id}/grade",
        json={"grade": grade},
        headers=auth_headers(instructor),
    )
    assert response.status_code == 200 and response.json()["final_grade"] == f"{grade}.00"


def test_students_cannot_grade_and_other_instructors_cannot_see_or_grade(
    client: TestClient, instructor: Any, student: Any, make_user: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enrollment_id = enroll(student, course)
    assignment_id = make_assignment(course)
    submission_id = make_submission(assignment_id, enrollment_id, student)
    grade = {"grade": "100"}
    own = client.post(
        f"{API}/submissions/{submission_id}/grade", json=grade, headers=auth_headers(student)
    )
    assert own.status_code == 403
    other = auth_headers(make_user(role="instructor"))
    assert (
        client.post(
            f"{API}/submissions/{submission_id}/grade", json=grade, headers=other
        ).status_code
        == 403
    )
    assert (
        client.post(f"{API}/submissions/{submission_id}/return", json={}, headers=other).status_code
        == 403
    )
    assert client.get(f"{API}/submissions/{submission_id}", headers=other).status_code == 404
    assert client.get(f"{API}/{assignment_id}/submissions", headers=other).status_code == 403
    row = _submission(str(submission_id))
    assert row.grade is None and row.status == "submitted"


def test_students_see_only_their_own_submissions(
    client: TestClient, instructor: Any, student: Any, make_user: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enrollment_id = enroll(student, course)
    other = make_user(role="student")
    other_enrollment = enroll(other, course)
    assignment_id = make_assignment(course)
    mine = make_submission(assignment_id, enrollment_id, student, content="mine")
    theirs = make_submission(assignment_id, other_enrollment, other, content="theirs")
    headers = auth_headers(student)
    assert client.get(f"{API}/submissions/{theirs}", headers=headers).status_code == 404
    assert client.get(f"{API}/submissions/{mine}", headers=headers).json()["content"] == "mine"
    listed = client.get(f"{API}/submissions/mine", headers=headers).json()
    assert [s["id"] for s in listed["items"]] == [str(mine)]
    assert client.get(f"{API}/{assignment_id}/submissions", headers=headers).status_code == 403
    owner = client.get(
        f"{API}/{assignment_id}/submissions", headers=auth_headers(instructor)
    ).json()
    assert {s["id"] for s in owner["items"]} == {str(mine), str(theirs)}


def test_return_allows_another_try(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enrollment_id = enroll(student, course)
    assignment_id = make_assignment(course)
    submission_id = make_submission(assignment_id, enrollment_id, student)
    owner = auth_headers(instructor)
    client.post(f"{API}/submissions/{submission_id}/grade", json={"grade": "20"}, headers=owner)
    returned = client.post(
        f"{API}/submissions/{submission_id}/return", json={"feedback": "Redo part 2"}, headers=owner
    ).json()
    assert returned["status"] == "returned" and returned["grade"] is None
    again = client.post(
        f"{API}/{assignment_id}/submissions", json={"content": "v2"}, headers=auth_headers(student)
    )
    assert again.status_code == 200 and again.json()["submission_count"] == 2
    filtered = client.get(
        f"{API}/{assignment_id}/submissions", params={"status": "submitted"}, headers=owner
    ).json()
    assert filtered["total"] == 1


def test_attachments_must_be_own_files_of_allowed_types(
    client: TestClient, instructor: Any, student: Any, make_user: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    assignment_id = make_assignment(course, allowed_file_types=["pdf"])
    text_only = make_assignment(course, title="Text only")
    url = f"{API}/{assignment_id}/submissions"
    headers = auth_headers(student)
    someone_elses = make_file(make_user(role="student"))
    wrong_type = make_file(student, extension="exe")
    good = make_file(student)

    assert (
        client.post(url, json={"file_ids": [str(someone_elses)]}, headers=headers).status_code
        == 404
    )
    assert (
        client.post(url, json={"file_ids": [str(wrong_type)]}, headers=headers).status_code == 422
    )
    no_files = client.post(
        f"{API}/{text_only}/submissions", json={"file_ids": [str(good)]}, headers=headers
    )
    assert no_files.status_code == 422
    with session_scope() as db:
        assert db.query(Submission).count() == 0
    ok = client.post(url, json={"file_ids": [str(good)], "content": None}, headers=headers)
    assert ok.status_code == 201 and ok.json()["file_ids"] == [str(good)]


def test_max_points_cannot_drop_below_given_grades_and_delete_keeps_submissions(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enrollment_id = enroll(student, course)
    assignment_id = make_assignment(course, max_points=100)
    make_submission(
        assignment_id, enrollment_id, student, grade=80, final_grade=80, status="graded"
    )
    owner = auth_headers(instructor)
    lowered = client.patch(f"{API}/{assignment_id}", json={"max_points": "60"}, headers=owner)
    assert lowered.status_code == 422
    assert (
        client.patch(f"{API}/{assignment_id}", json={"max_points": "80"}, headers=owner).status_code
        == 200
    )
    assert client.delete(f"{API}/{assignment_id}", headers=owner).status_code == 409


def test_grade_and_quiz_result_emails_render() -> None:
    from app.modules.notifications.service import render_email

    graded = render_email(
        "assignment_graded",
        "s@example.com",
        {
            "full_name": "Sam",
            "assignment_title": "Essay",
            "course_title": "Writing",
            "grade": "45.00",
            "final_grade": "40.50",
            "max_points": "50.00",
            "is_late": True,
            "late_penalty_percent": "10.00",
            "feedback": "<b>Good</b>",
        },
    )
    assert graded.subject == "Graded: Essay (40.50/50.00)"
    assert "reduced by 10.00%" in graded.text and "<b>Good</b>" in graded.text
    assert "&lt;b&gt;Good&lt;/b&gt;" in graded.html
    result = render_email(
        "quiz_result",
        "s@example.com",
        {
            "full_name": "Sam",
            "quiz_title": "Midterm",
            "attempt_number": 2,
            "score": "4.00",
            "max_score": "5.00",
            "percentage": "80.00",
            "is_passed": True,
        },
    )
    assert result.subject == "Midterm: 80.00% (passed)"
    assert "4.00 of 5.00 points" in result.text and "You passed." in result.html


def test_the_grader_downloads_attachments_others_cannot(
    client: TestClient, instructor: Any, student: Any, make_user: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    classmate = make_user(role="student")
    enroll(student, course)
    enroll(classmate, course)
    assignment_id = make_assignment(course, allowed_file_types=["pdf"])
    upload = client.post(
        "/api/v1/files/upload",
        files={
            "file": (
                "essay.pdf",
                b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
                "application/pdf",
            )
        },
        headers=auth_headers(student),
    )
    assert upload.status_code == 201, upload.text
    file_id = upload.json()["id"]
    submitted = client.post(
        f"{API}/{assignment_id}/submissions",
        json={"file_ids": [file_id]},
        headers=auth_headers(student),
    )
    assert submitted.status_code == 201, submitted.text

    download = f"/api/v1/files/download/{file_id}"
    assert client.get(download, headers=auth_headers(instructor)).status_code == 200
    other_instructor = make_user(role="instructor")
    assert client.get(download, headers=auth_headers(other_instructor)).status_code == 404
    assert client.get(download, headers=auth_headers(classmate)).status_code == 404
