"""Mixed load on a local server: students browse the catalogue, enroll, send progress
heartbeats and take quizzes; instructors read their analytics.

    .venv/bin/lms seed-demo            # instructor account and a published course with a quiz
    .venv/bin/lms serve --workers 2 &
    .venv/bin/locust -f bench/locustfile.py --headless -u 30 -r 5 --run-time 2m \
        --host http://127.0.0.1:8000 --csv var/locust

Targets on loopback only, and every run stops by itself after --run-time, or after
LOCUST_MAX_SECONDS (default 600) when no run time is given. Instructor credentials come from
var/postman/demo_seed_snapshot.json (written by `lms seed-demo`; LMS_DEMO_SNAPSHOT names
another file); students register themselves.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import gevent
from locust import HttpUser, between, events, tag, task
from locust.env import Environment

API = "/api/v1"
SNAPSHOT = Path(
    os.environ.get(
        "LMS_DEMO_SNAPSHOT",
        Path(__file__).resolve().parents[1] / "var" / "postman" / "demo_seed_snapshot.json",
    )
)
MAX_SECONDS = float(os.environ.get("LOCUST_MAX_SECONDS", "600"))
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PASSWORD = "Bench-Password-9"


@events.init.add_listener
def _only_loopback(environment: Environment, **_: Any) -> None:
    host = urlparse(environment.host or "").hostname or ""
    if host not in LOOPBACK and not host.startswith("127."):
        raise SystemExit(f"refusing to load-test {host!r}: loopback addresses only")


@events.test_start.add_listener
def _bounded(environment: Environment, **_: Any) -> None:
    # A hard stop even when --run-time is forgotten.
    if environment.runner is not None:
        gevent.spawn_later(MAX_SECONDS, environment.runner.quit)


def snapshot() -> dict[str, Any]:
    return json.loads(SNAPSHOT.read_text()) if SNAPSHOT.exists() else {}


def guess(question: dict[str, Any]) -> Any:
    """A plausible answer of the right shape for each question type."""
    options = [option["id"] for option in question.get("options") or []]
    kind = question.get("question_type")
    if kind == "true_false":
        return random.choice([True, False])
    if kind == "multiple_select":
        return random.sample(options, k=min(2, len(options)))
    if kind == "multiple_choice" and options:
        return random.choice(options)
    return "an answer"


class Student(HttpUser):
    weight = 8
    wait_time = between(1, 4)

    def on_start(self) -> None:
        self.email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
        self.client.post(
            f"{API}/auth/register",
            json={"email": self.email, "password": PASSWORD, "full_name": "Bench Student"},
            name="auth/register",
        )
        response = self.client.post(
            f"{API}/auth/login",
            json={"email": self.email, "password": PASSWORD},
            name="auth/login",
        )
        token = response.json().get("access_token", "") if response.ok else ""
        self.client.headers["Authorization"] = f"Bearer {token}"
        self.enrollments: dict[str, str] = {}  # course id -> enrollment id
        self.lessons: dict[str, list[str]] = {}

    def _courses(self) -> list[dict[str, Any]]:
        page = random.randint(1, 2)
        response = self.client.get(f"{API}/courses?page={page}&page_size=20", name="courses")
        return list(response.json().get("items", [])) if response.ok else []

    @tag("browse")
    @task(6)
    def browse(self) -> None:
        courses = self._courses()
        if courses:
            course = random.choice(courses)
            self.client.get(f"{API}/courses/{course['id']}", name="courses/{id}")
            self.client.get(f"{API}/courses/{course['id']}/lessons", name="courses/{id}/lessons")

    @tag("enroll")
    @task(2)
    def enroll(self) -> None:
        courses = [c for c in self._courses() if c["id"] not in self.enrollments]
        free = [c for c in courses if str(c.get("price", "0")) in ("0", "0.00", "0.0")] or courses
        if not free:
            return
        course = random.choice(free)
        response = self.client.post(
            f"{API}/enrollments", json={"course_id": course["id"]}, name="enrollments"
        )
        if response.status_code == 201:
            self.enrollments[course["id"]] = response.json()["id"]
            lessons = self.client.get(
                f"{API}/courses/{course['id']}/lessons", name="courses/{id}/lessons"
            )
            self.lessons[course["id"]] = (
                [item["id"] for item in lessons.json()] if lessons.ok else []
            )

    @tag("learn")
    @task(8)
    def heartbeat(self) -> None:
        candidates = [c for c in self.enrollments if self.lessons.get(c)]
        if not candidates:
            return
        course = random.choice(candidates)
        lesson = random.choice(self.lessons[course])
        self.client.put(
            f"{API}/enrollments/{self.enrollments[course]}/lessons/{lesson}/progress",
            json={
                "position_seconds": random.randint(0, 600),
                "time_spent_delta_seconds": random.randint(5, 30),
                "completion_percentage": random.choice([10, 40, 75, 100]),
            },
            name="enrollments/{id}/lessons/{id}/progress",
        )

    @tag("learn")
    @task(2)
    def my_courses(self) -> None:
        self.client.get(f"{API}/enrollments/my-courses", name="enrollments/my-courses")
        self.client.get(f"{API}/analytics/my-dashboard", name="analytics/my-dashboard")

    @tag("quiz")
    @task(1)
    def take_quiz(self) -> None:
        if not self.enrollments:
            return
        course = random.choice(list(self.enrollments))
        quizzes = self.client.get(f"{API}/courses/{course}/quizzes", name="courses/{id}/quizzes")
        items = quizzes.json().get("items", []) if quizzes.ok else []
        if not items:
            return
        quiz = random.choice(items)["id"]
        started = self.client.post(f"{API}/quizzes/{quiz}/attempts", name="quizzes/{id}/attempts")
        if started.status_code != 201:
            return
        attempt = started.json()
        answers = []
        for question in attempt.get("questions", []):
            answers.append({"question_id": question["id"], "answer": guess(question)})
        self.client.post(
            f"{API}/quizzes/{quiz}/attempts/{attempt['id']}/submit",
            json={"answers": answers},
            name="quizzes/{id}/attempts/{id}/submit",
        )


class Instructor(HttpUser):
    weight = 1
    wait_time = between(3, 8)

    def on_start(self) -> None:
        credentials = snapshot().get("credentials", {}).get("instructor")
        self.instructor_id = snapshot().get("ids", {}).get("instructor_id")
        if not credentials:
            raise SystemExit("run `lms seed-demo` first: no instructor in the snapshot")
        response = self.client.post(
            f"{API}/auth/login",
            json={"email": credentials["email"], "password": credentials["password"]},
            name="auth/login",
        )
        token = response.json().get("access_token", "") if response.ok else ""
        self.client.headers["Authorization"] = f"Bearer {token}"

    @tag("analytics")
    @task(3)
    def course_analytics(self) -> None:
        mine = self.client.get(f"{API}/courses/me", name="courses/me")
        items = mine.json().get("items", []) if mine.ok else []
        if items:
            course = random.choice(items)["id"]
            self.client.get(f"{API}/analytics/courses/{course}", name="analytics/courses/{id}")
            self.client.get(
                f"{API}/enrollments/courses/{course}/stats", name="enrollments/courses/{id}/stats"
            )

    @tag("analytics")
    @task(1)
    def overview(self) -> None:
        if self.instructor_id:
            self.client.get(
                f"{API}/analytics/instructors/{self.instructor_id}/overview",
                name="analytics/instructors/{id}/overview",
            )
