"""When a certificate is issued: on completion only, exactly once, with its side effects."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from app.core.config import get_settings
from app.core.database import session_scope
from app.modules.certificates import service
from app.modules.certificates.models import Certificate
from app.modules.certificates.tasks import issue_for_enrollment
from tests.modules.analytics.factories import (
    create_attempt,
    create_course,
    create_enrollment,
    create_quiz,
    lessons_of,
)


def certificate_count() -> int:
    with session_scope() as db:
        return db.scalar(select(func.count()).select_from(Certificate)) or 0


def stored_pdfs() -> list[Any]:
    root = get_settings().CERTIFICATES_DIR
    return list(root.rglob("*.pdf")) if root.exists() else []


def completion_payload(enrollment: Any) -> dict[str, str]:
    return {
        "enrollment_id": str(enrollment.id),
        "student_id": str(enrollment.student_id),
        "course_id": str(enrollment.course_id),
    }


def test_issued_when_the_last_lesson_is_completed_and_not_before(
    client: Any, instructor: Any, student: Any, auth_headers: Any
) -> None:
    course = create_course(instructor, title="Intro to Rust", lessons=2)
    enrollment = create_enrollment(student, course)
    first, second = lessons_of(course)
    headers = auth_headers(student)
    base = f"/api/v1/enrollments/{enrollment.id}/lessons"

    assert client.post(f"{base}/{first.id}/complete", headers=headers).status_code == 200
    assert certificate_count() == 0
    assert client.get("/api/v1/certificates/my-certificates", headers=headers).json()["total"] == 0

    assert client.post(f"{base}/{second.id}/complete", headers=headers).status_code == 200
    listing = client.get("/api/v1/certificates/my-certificates", headers=headers).json()
    assert listing["total"] == 1
    [certificate] = listing["items"]
    assert certificate["enrollment_id"] == str(enrollment.id)
    assert certificate["course_title"] == "Intro to Rust"
    assert certificate["certificate_number"].startswith("LMS-")
    assert len(stored_pdfs()) == 1

    # Completing again (idempotent endpoint) issues nothing new.
    assert client.post(f"{base}/{second.id}/complete", headers=headers).status_code == 200
    assert certificate_count() == 1


def test_retried_task_never_creates_a_second_certificate(instructor: Any, student: Any) -> None:
    course = create_course(instructor)
    enrollment = create_enrollment(student, course, completed=True)
    payload = completion_payload(enrollment)

    first = issue_for_enrollment.apply(args=("course.completed", payload))
    second = issue_for_enrollment.apply(args=("course.completed", payload))

    assert first.successful() and second.successful()
    assert first.result == second.result
    assert certificate_count() == 1
    assert len(stored_pdfs()) == 1


def test_losing_a_concurrent_issue_returns_the_winner_and_discards_its_pdf(
    instructor: Any, student: Any
) -> None:
    course = create_course(instructor)
    enrollment = create_enrollment(student, course, completed=True)
    with session_scope() as db:
        winner = service.issue_on_completion(db, enrollment_id=enrollment.id)
        assert winner is not None
        winner_id = winner.id

    # A second worker that checked before the winner committed gets as far as the insert.
    from app.modules.enrollments.models import Enrollment

    with session_scope() as db:
        row = db.get(Enrollment, enrollment.id)
        assert row is not None
        certificate, created = service._issue(db, row)

    assert not created
    assert certificate.id == winner_id
    assert certificate_count() == 1
    assert len(stored_pdfs()) == 1


def test_not_issued_for_an_unfinished_enrollment(instructor: Any, student: Any) -> None:
    course = create_course(instructor, lessons=2)
    enrollment = create_enrollment(student, course)

    result = issue_for_enrollment.apply(args=("course.completed", completion_payload(enrollment)))

    assert result.successful() and result.result is None
    assert certificate_count() == 0
    assert stored_pdfs() == []


def test_not_issued_until_graded_quizzes_are_passed(
    client: Any, instructor: Any, student: Any, auth_headers: Any
) -> None:
    course = create_course(instructor)
    enrollment = create_enrollment(student, course, completed=True)
    quiz = create_quiz(course, graded=True)
    create_quiz(course, graded=False)  # practice quizzes do not count
    create_attempt(quiz, enrollment, percentage=40, passed=False)
    url = f"/api/v1/certificates/enrollments/{enrollment.id}/generate"

    issue_for_enrollment.apply(args=("course.completed", completion_payload(enrollment)))
    assert certificate_count() == 0
    refused = client.post(url, headers=auth_headers(student))
    assert refused.status_code == 409
    assert refused.json()["code"] == "not_eligible"
    assert "quiz" in refused.json()["detail"]

    create_attempt(quiz, enrollment, percentage=85, passed=True, attempt_number=2)
    assert client.post(url, headers=auth_headers(student)).status_code == 201
    assert certificate_count() == 1


def test_generate_endpoint_access_and_idempotence(
    client: Any, instructor: Any, student: Any, admin: Any, make_user: Any, auth_headers: Any
) -> None:
    course = create_course(instructor)
    active = create_enrollment(make_user(), course)
    done = create_enrollment(student, course, completed=True)
    stranger = make_user()
    other_instructor = make_user(role="instructor")

    not_done = client.post(
        f"/api/v1/certificates/enrollments/{active.id}/generate", headers=auth_headers(admin)
    )
    assert not_done.status_code == 409
    assert "not completed" in not_done.json()["detail"]

    url = f"/api/v1/certificates/enrollments/{done.id}/generate"
    assert client.post(url, headers=auth_headers(stranger)).status_code == 404
    assert client.post(url, headers=auth_headers(other_instructor)).status_code == 404
    assert client.post(url).status_code == 401
    assert (
        client.post(
            f"/api/v1/certificates/enrollments/{uuid.uuid4()}/generate", headers=auth_headers(admin)
        ).status_code
        == 404
    )
    assert certificate_count() == 0

    created = client.post(url, headers=auth_headers(instructor))
    assert created.status_code == 201
    again = client.post(url, headers=auth_headers(student))
    assert again.status_code == 200
    assert again.json()["id"] == created.json()["id"]
    assert certificate_count() == 1


def test_issuing_emits_an_event_and_emails_the_student(
    instructor: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    student = make_user(full_name="Ada Lovelace", email="ada@example.com")
    course = create_course(instructor, title="Analytical Engines")
    enrollment = create_enrollment(student, course, completed=True)
    events: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(service, "emit", lambda _db, name, payload: events.append((name, payload)))

    with session_scope() as db:
        certificate = service.issue_on_completion(db, enrollment_id=enrollment.id)
        assert certificate is not None
        number = certificate.certificate_number

    [(name, payload)] = events
    assert name == "certificate.issued"
    assert payload["enrollment_id"] == str(enrollment.id)
    assert payload["certificate_number"] == number
    outbox = get_settings().VAR_DIR / "outbox" / "index.jsonl"
    sent = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert {"to": "ada@example.com", "subject": "Your certificate for Analytical Engines"} in [
        {"to": item["to"], "subject": item["subject"]} for item in sent
    ]
    with session_scope() as db:
        from app.modules.enrollments.models import Enrollment

        row = db.get(Enrollment, enrollment.id)
        assert row is not None and row.certificate_issued_at is not None
