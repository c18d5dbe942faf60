"""A learner with data in every module, created the way each module stores it."""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from app.core.database import session_scope, utcnow
from app.core.storage import get_storage
from app.modules.assignments.models import Assignment, Submission
from app.modules.certificates.models import Certificate
from app.modules.courses.models import Course, Enrollment, Lesson
from app.modules.discussions.models import DiscussionPost, DiscussionThread
from app.modules.enrollments.models import LessonProgress
from app.modules.files.models import UploadedFile
from app.modules.lti.models import LtiLineItem, LtiScore, LtiTool
from app.modules.notifications.models import Notification, NotificationSend
from app.modules.payments.models import Payment, PaymentEvent
from app.modules.quizzes.models import Quiz, QuizAttempt
from app.modules.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.factories import DEFAULT_PASSWORD


@dataclass
class Learner:
    user: Any
    headers: dict[str, str]
    tokens: dict[str, Any]
    course_id: Any
    file_id: str
    file_key: str
    file_bytes: bytes
    certificate_key: str
    personal: dict[str, str]


PERSONAL = {
    "name": "Zelda Quinterro",
    "email": "zelda.quinterro@learners.example",
    "bio": "Zelda-bio-7731 dives with octopuses",
    "review": "Zelda-review-4412 the best course I took",
    "essay": "Zelda-essay-9921 on tidal pools",
    "answer": "Zelda-answer-5510 photosynthesis",
    "feedback": "Zelda-feedback-3318 well argued",
    "tool_comment": "Zelda-tool-comment-6620 mapped every rock pool",
}


@pytest.fixture
def learner(client: Any, make_user: Any, instructor: Any) -> Learner:
    user = make_user(email=PERSONAL["email"], full_name=PERSONAL["name"])
    login = client.post(
        "/api/v1/auth/login", json={"email": PERSONAL["email"], "password": DEFAULT_PASSWORD}
    )
    assert login.status_code == 200, login.text
    tokens = login.json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (
        client.patch("/api/v1/users/me", json={"bio": PERSONAL["bio"]}, headers=headers).status_code
        == 200
    )
    file_bytes = b"field notes of " + PERSONAL["name"].encode()
    uploaded = client.post(
        "/api/v1/files/upload",
        files={"file": ("zelda-notes.txt", io.BytesIO(file_bytes), "text/plain")},
        headers=headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    file_id = uploaded.json()["id"]
    now = utcnow()
    certificate_key = f"certificates/{user.id}.pdf"
    get_storage("certificates").save(
        certificate_key,
        io.BytesIO(b"%PDF-1.4 " + PERSONAL["name"].encode()),
        content_type="application/pdf",
    )
    with session_scope() as db:
        file_key = db.get(UploadedFile, uuid.UUID(file_id)).storage_path
        course = Course(title="Marine Biology", slug="marine-biology", instructor_id=instructor.id)
        db.add(course)
        db.flush()
        lesson = Lesson(course_id=course.id, title="Tides", slug="tides", is_published=True)
        enrollment = Enrollment(
            student_id=user.id,
            course_id=course.id,
            rating=5,
            review=PERSONAL["review"],
            reviewed_at=now,
            total_lessons_count=1,
        )
        db.add_all([lesson, enrollment])
        db.flush()
        db.add(
            LessonProgress(
                enrollment_id=enrollment.id,
                lesson_id=lesson.id,
                status="completed",
                completed_at=now,
                time_spent_seconds=600,
            )
        )
        quiz = Quiz(course_id=course.id, title="Tides quiz")
        assignment = Assignment(course_id=course.id, title="Essay")
        db.add_all([quiz, assignment])
        db.flush()
        db.add(
            QuizAttempt(
                quiz_id=quiz.id,
                enrollment_id=enrollment.id,
                user_id=user.id,
                attempt_number=1,
                status="graded",
                submitted_at=now,
                graded_at=now,
                score=Decimal("8"),
                max_score=Decimal("10"),
                percentage=Decimal("80"),
                final_percentage=Decimal("80"),
                is_passed=True,
                answers={"q1": PERSONAL["answer"]},
                results={"q1": {"correct_answer": "chlorophyll"}},
            )
        )
        db.add(
            Submission(
                assignment_id=assignment.id,
                enrollment_id=enrollment.id,
                student_id=user.id,
                content=PERSONAL["essay"],
                file_ids=[file_id],
                status="graded",
                grade=Decimal("91"),
                final_grade=Decimal("91"),
                feedback=PERSONAL["feedback"],
                graded_at=now,
                graded_by_id=instructor.id,
            )
        )
        db.add(
            Certificate(
                enrollment_id=enrollment.id,
                student_id=user.id,
                course_id=course.id,
                certificate_number="LMS-2026-ZQ0001",
                student_name=PERSONAL["name"],
                course_title="Marine Biology",
                instructor_name="Ivy Instructor",
                completion_date=now,
                issued_at=now,
                pdf_path=certificate_key,
                pdf_sha256="0" * 64,
                signature="s" * 40,
                is_revoked=False,
            )
        )
        payment = Payment(
            user_id=user.id,
            course_id=course.id,
            amount=Decimal("49.00"),
            currency="USD",
            gateway="sandbox",
            status="completed",
            completed_at=now,
            payment_method="card",
            metadata_={"customer_email": PERSONAL["email"], "card_last4": "4242"},
            checkout_url="https://pay.example/checkout/1",
        )
        db.add(payment)
        db.flush()
        db.add(
            PaymentEvent(
                payment_id=payment.id,
                gateway="sandbox",
                event_type="payment.completed",
                source="webhook",
                payload={"customer": {"email": PERSONAL["email"]}},
            )
        )
        # A grade an LTI tool published for the learner (AGS), with the tool's comment.
        tool = LtiTool(
            name="Tide simulator",
            client_id="tide-simulator",
            oidc_initiation_url="https://tool.example/login",
            target_link_uri="https://tool.example/launch",
            redirect_uris=["https://tool.example/launch"],
            scopes=[],
            custom={},
        )
        db.add(tool)
        db.flush()
        line_item = LtiLineItem(
            course_id=course.id, tool_id=tool.id, label="Simulation", score_maximum=Decimal("20")
        )
        db.add(line_item)
        db.flush()
        db.add(
            LtiScore(
                line_item_id=line_item.id,
                user_id=user.id,
                score_given=Decimal("17"),
                score_maximum=Decimal("20"),
                activity_progress="Completed",
                grading_progress="FullyGraded",
                comment=PERSONAL["tool_comment"],
                timestamp=now,
            )
        )
        db.add(NotificationSend(job="weekly_progress_report", user_id=user.id, period="2026-W49"))
        thread = DiscussionThread(course_id=course.id, author_id=user.id, title="Tide tables")
        db.add(thread)
        db.flush()
        db.add(DiscussionPost(thread_id=thread.id, author_id=user.id, body="When is low tide?"))
        db.add_all(
            [
                Notification(user_id=user.id, category="grades", title="Your essay was graded"),
                # Someone else's inbox names the learner: erasure must reach it too.
                Notification(
                    user_id=instructor.id,
                    category="mentions",
                    title=f"{PERSONAL['name']} mentioned you in Tide tables",
                    body=f"@{PERSONAL['name'].replace(' ', '')} asks when low tide is",
                ),
            ]
        )
        endpoint = WebhookEndpoint(
            url="https://hooks.example/lms", secret="x" * 32, event_types=["user.updated"]
        )
        db.add(endpoint)
        db.flush()
        db.add(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                event_id="evt-1",
                event_type="user.updated",
                body=json.dumps({"email": PERSONAL["email"], "name": PERSONAL["name"]}),
                next_attempt_at=now + timedelta(minutes=5),
            )
        )
        course_id = course.id
    return Learner(
        user=user,
        headers=headers,
        tokens=tokens,
        course_id=course_id,
        file_id=file_id,
        file_key=file_key,
        file_bytes=file_bytes,
        certificate_key=certificate_key,
        personal=dict(PERSONAL),
    )
