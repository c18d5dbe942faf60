"""`lms seed-demo`: demo accounts and a complete, published course with real activity.

Accounts are created through the users service (admins cannot sign up); everything else goes
through the API itself, in process, so the demo data obeys exactly the rules users meet:
a published course with lessons, a graded quiz and an assignment; three students at different
stages (one finished with a passed quiz attempt, a graded submission and a certificate, one
half-way with progress heartbeats, one just enrolled).

Idempotent: accounts are reused (their passwords reset to the demo password), and the course
is created only when the instructor has none of that title. The credentials are printed and,
with every id, written to this installation's files (under `VAR_DIR/postman/` by default,
never into the tracked `postman/`): a snapshot JSON and the Postman environment that runs the
committed demo collection (`base_url` is PUBLIC_BASE_URL, by default the served address).
Refuses to run in production.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.cli.database import require_schema
from app.cli.postman import (
    DEMO_COLLECTION_FILE,
    DEMO_ENVIRONMENT_FILE,
    demo_environment,
    write_json,
)
from app.core.config import get_settings

DEMO_PASSWORD = "Demo-Learn-2026!"  # noqa: S105  # nosec B105 - published demo credential
COURSE_TITLE = "Data Literacy Essentials (demo)"
ACCOUNTS = {
    "admin": ("demo.admin@example.com", "Ada Admin", "admin"),
    "instructor": ("demo.instructor@example.com", "Ivan Instructor", "instructor"),
    "student": ("demo.student@example.com", "Sara Student", "student"),
    "student2": ("demo.student2@example.com", "Sam Student", "student"),
    "student3": ("demo.student3@example.com", "Sky Student", "student"),
}
LESSONS = [
    {"title": "What data is", "lesson_type": "text", "content": "Rows, columns and types."},
    {"title": "Reading a chart", "lesson_type": "video", "video_url": "https://example.com/v/2"},
    {"title": "Averages that lie", "lesson_type": "text", "content": "Mean, median, outliers."},
]
QUESTIONS = [
    {
        "question_text": "Which value is robust to outliers?",
        "question_type": "multiple_choice",
        "options": [{"id": "mean", "text": "The mean"}, {"id": "median", "text": "The median"}],
        "correct_answer": "median",
        "points": 2,
    },
    {
        "question_text": "A bar chart can compare categories.",
        "question_type": "true_false",
        "correct_answer": True,
        "points": 1,
    },
]
CORRECT = {"multiple_choice": "median", "true_false": True}
SNAPSHOT_FILE = "demo_seed_snapshot.json"


class SeedError(RuntimeError):
    pass


def register(subparsers: Any) -> None:
    seed = subparsers.add_parser("seed-demo")
    seed.add_argument(
        "--output-dir",
        default=None,
        help="folder for the snapshot and the Postman environment (default VAR_DIR/postman)",
    )
    seed.set_defaults(handler=seed_demo_command)


def ensure_accounts() -> dict[str, str]:
    """Create (or reset the password of) every demo account; returns role key -> user id."""
    from app.core.database import session_scope
    from app.core.permissions import Role
    from app.modules.users import service as users

    ids: dict[str, str] = {}
    with session_scope() as session:
        for key, (email, name, role) in ACCOUNTS.items():
            user = users.get_by_email(session, email)
            if user is None:
                user = users.create_user(
                    session,
                    email=email,
                    password=DEMO_PASSWORD,
                    full_name=name,
                    role=Role(role),
                    email_verified=True,
                )
            else:
                users.set_password(session, user, DEMO_PASSWORD)
            session.flush()
            ids[key] = str(user.id)
    return ids


class Api:
    """The application in process, answering like the served API."""

    def __init__(self) -> None:
        import warnings

        with warnings.catch_warnings():
            # Starlette's notice about its httpx dependency is not for operators.
            warnings.simplefilter("ignore")
            from fastapi.testclient import TestClient

        from app.main import create_app

        self.app = create_app()
        self.client = TestClient(self.app, base_url="http://localhost")
        self.tokens: dict[str, str] = {}

    def login(self, key: str) -> None:
        email = ACCOUNTS[key][0]
        answer = self.call(
            "POST", "/auth/login", None, 200, json={"email": email, "password": DEMO_PASSWORD}
        )
        if "access_token" not in answer:
            raise SeedError(f"{email} did not get tokens (MFA on?)")
        self.tokens[key] = answer["access_token"]

    def call(self, method: str, path: str, who: str | None, *expected: int, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        response = self.client.request(method, f"/api/v1{path}", headers=headers, **kwargs)
        if response.status_code not in expected:
            raise SeedError(
                f"{method} {path} answered {response.status_code}: {response.text[:500]}"
            )
        return response.json() if response.content else None


def _find_course(api: Api) -> dict[str, Any] | None:
    page = api.call("GET", "/courses/me?page_size=100", "instructor", 200)
    return next((c for c in page["items"] if c["title"] == COURSE_TITLE), None)


def _create_course(api: Api) -> dict[str, Any]:
    course = api.call(
        "POST",
        "/courses",
        "instructor",
        201,
        json={
            "title": COURSE_TITLE,
            "description": "Read tables and charts with confidence. Demo data from lms seed-demo.",
            "category": "data",
            "difficulty_level": "beginner",
            "estimated_duration_minutes": 90,
            "price": 0,
        },
    )
    course_id = course["id"]
    for lesson in LESSONS:
        body = {**lesson, "duration_minutes": 15, "is_published": True}
        api.call("POST", f"/courses/{course_id}/lessons", "instructor", 201, json=body)
    quiz = api.call(
        "POST",
        f"/courses/{course_id}/quizzes",
        "instructor",
        201,
        json={
            "title": "Check your understanding",
            "quiz_type": "graded",
            "passing_score": 60,
            "max_attempts": 3,
            "show_correct_answers": True,
        },
    )
    for question in QUESTIONS:
        api.call(
            "POST",
            f"/courses/{course_id}/quizzes/{quiz['id']}/questions",
            "instructor",
            201,
            json=question,
        )
    api.call("POST", f"/courses/{course_id}/quizzes/{quiz['id']}/publish", "instructor", 200)
    api.call("POST", f"/courses/{course_id}/publish", "instructor", 200)
    api.call(
        "POST",
        "/assignments",
        "instructor",
        201,
        json={
            "course_id": course_id,
            "title": "Describe a misleading chart",
            "instructions": "Find a chart in the news that misleads and explain how.",
            "max_points": 10,
            "is_published": True,
        },
    )
    return dict(api.call("GET", f"/courses/{course_id}", "instructor", 200))


def _learn(api: Api, course_id: str, quiz_id: str, lessons: list[str], assignment_id: str) -> None:
    # Student 1 passes the quiz, finishes every lesson (completion issues the certificate) and
    # hands in the assignment, which the instructor grades.
    enrollment = api.call("POST", "/enrollments", "student", 201, json={"course_id": course_id})
    attempt = api.call("POST", f"/quizzes/{quiz_id}/attempts", "student", 201)
    answers = [
        {"question_id": q["id"], "answer": CORRECT[q["question_type"]]}
        for q in attempt["questions"]
    ]
    api.call(
        "POST",
        f"/quizzes/{quiz_id}/attempts/{attempt['id']}/submit",
        "student",
        200,
        json={"answers": answers},
    )
    for lesson in lessons:
        api.call(
            "PUT",
            f"/enrollments/{enrollment['id']}/lessons/{lesson}/progress",
            "student",
            200,
            json={
                "position_seconds": 600,
                "time_spent_delta_seconds": 300,
                "completion_percentage": 100,
            },
        )
        api.call(
            "POST", f"/enrollments/{enrollment['id']}/lessons/{lesson}/complete", "student", 200
        )
    submission = api.call(
        "POST",
        f"/assignments/{assignment_id}/submissions",
        "student",
        201,
        json={"content": "The y axis starts at 95, so a 2% change looks like a doubling."},
    )
    api.call(
        "POST",
        f"/assignments/submissions/{submission['id']}/grade",
        "instructor",
        200,
        json={"grade": 9, "feedback": "Clear and well argued."},
    )
    # Student 2 is half-way; student 3 has just enrolled.
    second = api.call("POST", "/enrollments", "student2", 201, json={"course_id": course_id})
    api.call(
        "PUT",
        f"/enrollments/{second['id']}/lessons/{lessons[0]}/progress",
        "student2",
        200,
        json={
            "position_seconds": 240,
            "time_spent_delta_seconds": 240,
            "completion_percentage": 40,
        },
    )
    api.call("POST", f"/enrollments/{second['id']}/lessons/{lessons[0]}/complete", "student2", 200)
    api.call("POST", "/enrollments", "student3", 201, json={"course_id": course_id})


def seed(folder: Path) -> dict[str, Any]:
    settings = get_settings()
    if settings.is_production:
        raise SeedError("refusing to seed demo accounts with a published password in production")
    require_schema()
    user_ids = ensure_accounts()
    api = Api()
    for key in ACCOUNTS:
        api.login(key)
    course = _find_course(api)
    created = course is None
    if course is None:
        course = _create_course(api)
    course_id = course["id"]
    lessons = [
        item["id"] for item in api.call("GET", f"/courses/{course_id}/lessons", "student", 200)
    ]
    quiz = api.call("GET", f"/courses/{course_id}/quizzes", "instructor", 200)["items"][0]
    questions = api.call(
        "GET", f"/courses/{course_id}/quizzes/{quiz['id']}/questions", "instructor", 200
    )["items"]
    assignments = api.call("GET", f"/assignments?course_id={course_id}", "instructor", 200)
    assignment_id = assignments["items"][0]["id"]
    if created:
        _learn(api, course_id, quiz["id"], lessons, assignment_id)

    mine = api.call("GET", "/enrollments/my-courses", "student", 200)["items"]
    enrollment = next(item for item in mine if item["course_id"] == course_id)
    enrollment_id = enrollment["id"]
    attempts = api.call("GET", f"/quizzes/{quiz['id']}/attempts/my-attempts", "student", 200)
    submissions = api.call("GET", "/assignments/submissions/mine", "student", 200)["items"]
    certificates = api.call("GET", "/certificates/my-certificates", "student", 200)["items"]
    if not certificates:
        # With a Celery broker the certificate is issued by a worker; issue it now instead.
        api.call("POST", f"/certificates/enrollments/{enrollment_id}/generate", "student", 200, 201)
        certificates = api.call("GET", "/certificates/my-certificates", "student", 200)["items"]
    certificate = certificates[0]

    snapshot = {
        "generated_by": "lms seed-demo",
        "course_title": COURSE_TITLE,
        "credentials": {
            key: {"email": email, "password": DEMO_PASSWORD, "role": role}
            for key, (email, _name, role) in ACCOUNTS.items()
        },
        "ids": {
            "admin_id": user_ids["admin"],
            "instructor_id": user_ids["instructor"],
            "user_id": user_ids["student"],
            "student_id": user_ids["student"],
            "course_id": course_id,
            "slug": course["slug"],
            "lesson_id": lessons[0],
            "quiz_id": quiz["id"],
            "question_id": questions[0]["id"],
            "attempt_id": attempts["items"][0]["id"],
            "enrollment_id": enrollment_id,
            "assignment_id": assignment_id,
            "submission_id": submissions[0]["id"],
            "certificate_id": certificate["id"],
            "certificate_number": certificate["certificate_number"],
        },
    }
    write_json(folder / SNAPSHOT_FILE, snapshot)
    write_json(
        folder / DEMO_ENVIRONMENT_FILE,
        demo_environment(api.app.openapi(), snapshot, settings.PUBLIC_BASE_URL),
    )
    return {"created": created, **snapshot}


def seed_demo_command(args: argparse.Namespace) -> int:
    folder = Path(args.output_dir) if args.output_dir else get_settings().VAR_DIR / "postman"
    try:
        result = seed(folder)
    except SeedError as exc:
        print(f"Demo seed failed: {exc}", file=sys.stderr)
        return 1
    state = "created" if result["created"] else "already present (accounts refreshed)"
    print(f"Demo course {COURSE_TITLE!r} {state}.")
    print("Demo credentials (development only):")
    for key, credential in result["credentials"].items():
        print(f"  {key:<11} {credential['email']:<30} {credential['password']}")
    print(f"Ids and credentials: {folder / SNAPSHOT_FILE}")
    print(
        f"Postman environment: {folder / DEMO_ENVIRONMENT_FILE} (for "
        f"postman/{DEMO_COLLECTION_FILE}, base_url {get_settings().PUBLIC_BASE_URL})"
    )
    return 0
