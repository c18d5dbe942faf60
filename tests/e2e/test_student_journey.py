"""The whole journey over HTTP against `lms serve` as a real process: an admin (made with
`lms create-user`) adds an instructor, who builds and publishes a course with a graded quiz;
a student registers, finds it, enrolls, learns, passes the quiz, completes the course, gets a
certificate anyone can verify, and reviews the course. Refusals are checked on the way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.live import live_server, lms, service_env

PASSWORD = "Journey-Pass-42"


def _login(client: httpx.Client, email: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


def test_student_journey_over_http(tmp_path: Path) -> None:
    env = service_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'journey.db'}")
    with (
        live_server(env, tmp_path) as base_url,
        httpx.Client(base_url=base_url, timeout=30) as http,
    ):
        lms(
            "create-user",
            "--email",
            "root@school.example",
            "--password",
            PASSWORD,
            "--role",
            "admin",
            "--full-name",
            "School Admin",
            env=env,
        )
        admin = _login(http, "root@school.example")
        _ok(
            http.post(
                "/api/v1/users",
                headers=admin,
                json={
                    "email": "teacher@school.example",
                    "password": PASSWORD,
                    "full_name": "Tea Cher",
                    "role": "instructor",
                },
            ),
            201,
        )
        teacher = _login(http, "teacher@school.example")

        registered = _ok(
            http.post(
                "/api/v1/auth/register",
                json={
                    "email": "learner@school.example",
                    "password": PASSWORD,
                    "full_name": "Layla Learner",
                },
            ),
            201,
        )
        assert registered["user"]["role"] == "student"
        student = _login(http, "learner@school.example")
        _ok(
            http.post(
                "/api/v1/auth/register",
                json={"email": "nosy@school.example", "password": PASSWORD, "full_name": "Nosy"},
            ),
            201,
        )
        nosy = _login(http, "nosy@school.example")

        # A student cannot author courses; an admin self-registration is refused.
        assert (
            http.post("/api/v1/courses", headers=student, json={"title": "Mine"}).status_code == 403
        )
        assert http.post(
            "/api/v1/auth/register",
            json={
                "email": "boss@school.example",
                "password": PASSWORD,
                "full_name": "Boss",
                "role": "admin",
            },
        ).status_code in (403, 422)

        course = _ok(
            http.post(
                "/api/v1/courses",
                headers=teacher,
                json={
                    "title": "Practical Statistics",
                    "description": "Means, medians and more",
                    "category": "math",
                    "difficulty_level": "beginner",
                },
            ),
            201,
        )
        course_id = course["id"]
        lessons = [
            _ok(
                http.post(
                    f"/api/v1/courses/{course_id}/lessons",
                    headers=teacher,
                    json={
                        "title": title,
                        "lesson_type": kind,
                        "content": f"About {title}",
                        "duration_minutes": 10,
                        "is_published": True,
                    },
                ),
                201,
            )
            for title, kind in (("Averages", "text"), ("Spread", "text"), ("Check", "quiz"))
        ]
        quiz = _ok(
            http.post(
                f"/api/v1/courses/{course_id}/quizzes",
                headers=teacher,
                json={
                    "title": "Checkpoint",
                    "lesson_id": lessons[2]["id"],
                    "quiz_type": "graded",
                    "passing_score": 50,
                },
            ),
            201,
        )
        quiz_url = f"/api/v1/courses/{course_id}/quizzes/{quiz['id']}"
        question = _ok(
            http.post(
                f"{quiz_url}/questions",
                headers=teacher,
                json={
                    "question_text": "The median of 1, 2, 9?",
                    "question_type": "multiple_choice",
                    "options": [{"id": "a", "text": "2"}, {"id": "b", "text": "4"}],
                    "correct_answer": "a",
                    "explanation": "The middle value.",
                },
            ),
            201,
        )
        _ok(http.post(f"{quiz_url}/publish", headers=teacher))
        # Drafts are invisible to the public.
        assert http.get(f"/api/v1/courses/{course_id}").status_code == 404
        _ok(http.post(f"/api/v1/courses/{course_id}/publish", headers=teacher))

        found = _ok(http.get("/api/v1/courses", params={"search": "statistics"}))
        assert [item["id"] for item in found["items"]] == [course_id]

        enrollment = _ok(
            http.post("/api/v1/enrollments", headers=student, json={"course_id": course_id}), 201
        )
        enrollment_id = enrollment["id"]
        assert http.get(f"/api/v1/enrollments/{enrollment_id}", headers=nosy).status_code in (
            403,
            404,
        )

        for lesson in lessons[:2]:
            progress = f"/api/v1/enrollments/{enrollment_id}/lessons/{lesson['id']}"
            _ok(
                http.put(
                    f"{progress}/progress",
                    headers=student,
                    json={
                        "position_seconds": 120,
                        "time_spent_delta_seconds": 60,
                        "completion_percentage": 80,
                    },
                )
            )
            _ok(http.post(f"{progress}/complete", headers=student))

        attempt = _ok(http.post(f"/api/v1/quizzes/{quiz['id']}/attempts", headers=student), 201)
        assert "correct_answer" not in str(attempt)
        graded = _ok(
            http.post(
                f"/api/v1/quizzes/{quiz['id']}/attempts/{attempt['id']}/submit",
                headers=student,
                json={"answers": [{"question_id": question["id"], "answer": "a"}]},
            )
        )
        assert graded["is_passed"] is True

        done = _ok(http.get(f"/api/v1/enrollments/{enrollment_id}", headers=student))
        assert done["status"] == "completed"
        assert float(done["progress_percentage"]) == 100

        certificates = _ok(http.get("/api/v1/certificates/my-certificates", headers=student))
        assert certificates["total"] == 1
        certificate = certificates["items"][0]
        pdf = http.get(f"/api/v1/certificates/{certificate['id']}/download", headers=student)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert (
            http.get(f"/api/v1/certificates/{certificate['id']}/download", headers=nosy).status_code
            == 404
        )
        verified = _ok(http.get(f"/api/v1/certificates/verify/{certificate['certificate_number']}"))
        assert verified["status"] == "valid"
        assert verified["student_name"] == "Layla Learner"

        _ok(
            http.post(
                f"/api/v1/enrollments/{enrollment_id}/review",
                headers=student,
                json={"rating": 5, "review": "Clear and practical"},
            )
        )
        stats = _ok(http.get(f"/api/v1/enrollments/courses/{course_id}/stats", headers=teacher))
        assert (stats["total_enrollments"], stats["completed"], stats["rating_count"]) == (1, 1, 1)
        assert float(stats["average_rating"]) == 5
        assert (
            http.get(f"/api/v1/enrollments/courses/{course_id}/stats", headers=student).status_code
            == 403
        )
        dashboard = _ok(http.get("/api/v1/analytics/my-dashboard", headers=student))
        assert dashboard["certificates_count"] == 1
        assert dashboard["lessons_completed"] == 3

        assert http.post("/api/v1/auth/logout", headers=student).status_code == 204
        assert http.get("/api/v1/auth/me", headers=student).status_code == 401
