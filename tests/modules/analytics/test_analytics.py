"""Analytics numbers against a hand-computed fixture, caching, and role checks.

The fixture (numbers in comments are what the endpoints must report):

  instructor "Ida": course A "Algebra" (3 lessons, published), course B "Biology" (draft)
  instructor "Jay": course C "Chemistry"

  A: s1 completed (progress 100, rating 5, 600 s; L1 100 s, L2 200 s, L3 300 s done)
     s2 active    (progress 50,  rating 4, 300 s; L1 100 s done, L2 200 s started)
     s3 dropped   (progress 25,  no rating, 0 s;  L1 0 s done)
     s4 active    (progress 0,   rating 2, 60 s;  nothing)
     graded quiz Q1: s1 90 (pass), s2 50 (fail), s2 80 (pass); practice quiz Q2: no attempts
     payments: s1 49.99 USD, s2 49.99 USD, s3 20.00 EUR (completed), s4 49.99 USD (pending)
  B: s1 active (enrolled 40 days ago)
  C: s2 completed 40 days ago (rating 1, 120 s), paid 10.00 USD 40 days ago; certificate
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from app.core.database import session_scope, utcnow
from app.modules.certificates import service as certificates
from tests.modules.analytics.factories import (
    create_attempt,
    create_course,
    create_enrollment,
    create_payment,
    create_progress,
    create_quiz,
    lessons_of,
)


@dataclass
class World:
    admin: Any
    ida: Any
    jay: Any
    students: list[Any]
    algebra: Any
    biology: Any
    chemistry: Any
    lessons: list[Any]
    q1: Any
    q2: Any


@pytest.fixture
def world(make_user: Callable[..., Any], admin: Any) -> World:
    now = utcnow()
    ida = make_user(role="instructor", full_name="Ida")
    jay = make_user(role="instructor", full_name="Jay")
    s1 = make_user(last_login_at=now - timedelta(days=1))
    s2 = make_user(last_login_at=now - timedelta(days=10))
    s3 = make_user()
    s4 = make_user(created_at=now - timedelta(days=60))
    with session_scope() as db:
        from app.modules.users.models import User

        row = db.get(User, admin.id)
        assert row is not None
        row.last_login_at = now

    algebra = create_course(ida, title="Algebra", lessons=3)
    biology = create_course(ida, title="Biology", is_published=False)
    chemistry = create_course(jay, title="Chemistry")
    l1, l2, l3 = lessons_of(algebra)

    e1 = create_enrollment(
        s1,
        algebra,
        completed=True,
        completed_at=now - timedelta(days=9),
        enrolled_at=now - timedelta(days=10),
        rating=5,
        total_time_spent_seconds=600,
        completed_lessons_count=3,
        total_lessons_count=3,
    )
    e2 = create_enrollment(
        s2,
        algebra,
        enrolled_at=now - timedelta(days=3),
        rating=4,
        progress_percentage=50,
        total_time_spent_seconds=300,
        completed_lessons_count=1,
        total_lessons_count=3,
    )
    e3 = create_enrollment(
        s3,
        algebra,
        status="dropped",
        enrolled_at=now - timedelta(days=3),
        progress_percentage=25,
        completed_lessons_count=1,
        total_lessons_count=3,
    )
    create_enrollment(s4, algebra, rating=2, total_time_spent_seconds=60, total_lessons_count=3)
    create_progress(e1, l1, time_spent_seconds=100)
    create_progress(e1, l2, time_spent_seconds=200)
    create_progress(e1, l3, time_spent_seconds=300)
    create_progress(e2, l1, time_spent_seconds=100, at=now - timedelta(hours=2))
    create_progress(e2, l2, completed=False, time_spent_seconds=200, at=now - timedelta(hours=1))
    create_progress(e3, l1, time_spent_seconds=0)

    q1 = create_quiz(algebra, graded=True, title="Q1")
    q2 = create_quiz(algebra, graded=False, title="Q2")
    create_attempt(q1, e1, percentage=90, passed=True)
    create_attempt(q1, e2, percentage=50, passed=False)
    create_attempt(q1, e2, percentage=80, passed=True, attempt_number=2)

    create_payment(s1, algebra, amount="49.99")
    create_payment(s2, algebra, amount="49.99")
    create_payment(s3, algebra, amount="20.00", currency="EUR")
    create_payment(s4, algebra, amount="49.99", status="pending")

    create_enrollment(s1, biology, enrolled_at=now - timedelta(days=40), total_lessons_count=0)
    chem = create_enrollment(
        s2,
        chemistry,
        completed=True,
        enrolled_at=now - timedelta(days=45),
        completed_at=now - timedelta(days=40),
        rating=1,
        total_time_spent_seconds=120,
        completed_lessons_count=1,
        total_lessons_count=1,
    )
    create_payment(s2, chemistry, amount="10.00", at=now - timedelta(days=40))
    with session_scope() as db:
        assert certificates.issue_on_completion(db, enrollment_id=chem.id) is not None

    return World(
        admin, ida, jay, [s1, s2, s3, s4], algebra, biology, chemistry, [l1, l2, l3], q1, q2
    )


def get(client: Any, url: str, user: Any | None, auth_headers: Any, **params: Any) -> Any:
    headers = auth_headers(user) if user is not None else {}
    return client.get(f"/api/v1/analytics{url}", headers=headers, params=params)


def test_course_analytics_numbers(client: Any, world: World, auth_headers: Any) -> None:
    response = get(client, f"/courses/{world.algebra.id}", world.ida, auth_headers)
    assert response.status_code == 200, response.text
    body = response.json()

    assert body["title"] == "Algebra"
    assert body["enrollments"] == {"total": 4, "active": 2, "completed": 1, "dropped": 1}
    assert body["completion_rate"] == 25.0
    assert body["average_progress"] == 43.75  # (100 + 50 + 25 + 0) / 4
    l1, l2, l3 = (str(lesson.id) for lesson in world.lessons)
    assert [
        (
            s["lesson_id"],
            s["started"],
            s["completed"],
            s["completion_rate"],
            s["drop_off"],
            s["time_spent_seconds"],
        )
        for s in body["lesson_funnel"]
    ] == [
        (l1, 3, 3, 75.0, 1, 200),
        (l2, 2, 1, 25.0, 2, 400),
        (l3, 1, 1, 25.0, 0, 300),
    ]
    assert body["drop_off_lesson_id"] == l2
    assert body["quizzes"] == [
        {
            "quiz_id": str(world.q1.id),
            "title": "Q1",
            "quiz_type": "graded",
            "attempts": 3,
            "students": 2,
            "passed": 2,
            "average_percentage": 73.33,
            "pass_rate": 66.67,
        },
        {
            "quiz_id": str(world.q2.id),
            "title": "Q2",
            "quiz_type": "practice",
            "attempts": 0,
            "students": 0,
            "passed": 0,
            "average_percentage": None,
            "pass_rate": None,
        },
    ]
    assert body["rating"] == {
        "average": 3.67,
        "count": 3,
        "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1},
    }
    assert body["time_spent_seconds"] == 960
    assert body["average_time_spent_seconds"] == 240.0
    assert body["revenue"] == {"EUR": "20.00", "USD": "99.98"}


def test_course_enrollment_trend_by_day_and_week(
    client: Any, world: World, auth_headers: Any
) -> None:
    today = utcnow().date()
    daily = get(client, f"/courses/{world.algebra.id}", world.ida, auth_headers, days=30).json()
    points = {p["period"]: p["enrollments"] for p in daily["enrollment_trend"]}
    assert len(points) == 30
    assert min(points) == (today - timedelta(days=29)).isoformat()
    assert max(points) == today.isoformat()
    expected = {
        (today - timedelta(days=10)).isoformat(): 1,
        (today - timedelta(days=3)).isoformat(): 2,
        today.isoformat(): 1,
    }
    assert {day: count for day, count in points.items() if count} == expected

    weekly = get(
        client, f"/courses/{world.algebra.id}", world.ida, auth_headers, granularity="week", days=28
    ).json()
    assert weekly["granularity"] == "week"

    def monday(day: date) -> str:
        return str((day - timedelta(days=day.weekday())).isoformat())

    by_week: dict[str, int] = {}
    for offset, count in ((10, 1), (3, 2), (0, 1)):
        key = monday(today - timedelta(days=offset))
        by_week[key] = by_week.get(key, 0) + count
    weeks = {p["period"]: p["enrollments"] for p in weekly["enrollment_trend"]}
    assert all(date_label == monday(date.fromisoformat(date_label)) for date_label in weeks)
    assert {week: count for week, count in weeks.items() if count} == by_week


def test_instructor_overview_numbers(client: Any, world: World, auth_headers: Any) -> None:
    body = get(client, f"/instructors/{world.ida.id}/overview", world.ida, auth_headers).json()

    assert body["courses"] == 2 and body["published_courses"] == 1
    assert body["students"] == 4
    assert body["enrollments"] == 5
    assert body["completions"] == 1
    assert body["completion_rate"] == 20.0
    assert body["quizzes"] == {
        "attempts": 3,
        "passed": 2,
        "average_percentage": 73.33,
        "pass_rate": 66.67,
    }
    assert body["average_rating"] == 3.67 and body["ratings"] == 3
    assert body["revenue"] == {"EUR": "20.00", "USD": "99.98"}
    assert [(c["title"], c["enrollments"], c["completed"]) for c in body["top_courses"]] == [
        ("Algebra", 4, 1),
        ("Biology", 1, 0),
    ]


def test_student_dashboard_and_progress(client: Any, world: World, auth_headers: Any) -> None:
    s2 = world.students[1]
    body = get(client, "/my-dashboard", s2, auth_headers).json()

    assert body["enrollments"] == {"total": 2, "active": 1, "completed": 1, "dropped": 0}
    assert body["average_progress"] == 75.0  # (50 + 100) / 2
    assert body["lessons_completed"] == 2
    assert body["time_spent_seconds"] == 420
    assert body["quizzes"] == {
        "attempts": 2,
        "quizzes": 1,
        "passed": 1,
        "average_percentage": 65.0,
        "pass_rate": 50.0,
    }
    assert body["certificates_count"] == 1
    assert [c["course_title"] for c in body["recent_certificates"]] == ["Chemistry"]
    l1, l2, _ = world.lessons
    assert [(a["lesson_id"], a["status"]) for a in body["recent_activity"]] == [
        (str(l2.id), "in_progress"),
        (str(l1.id), "completed"),
    ]

    progress = get(client, "/my-progress", s2, auth_headers, page_size=1).json()
    assert progress["total"] == 2 and progress["pages"] == 2
    everything = get(client, "/my-progress", s2, auth_headers).json()["items"]
    assert {(p["course_title"], p["status"], p["progress_percentage"]) for p in everything} == {
        ("Algebra", "active", 50.0),
        ("Chemistry", "completed", 100.0),
    }


def test_system_overview_numbers(client: Any, world: World, auth_headers: Any) -> None:
    body = get(client, "/system/overview", world.admin, auth_headers).json()

    assert body["users"] == {
        "total": 7,
        "enabled": 7,
        "by_role": {"admin": 1, "instructor": 2, "student": 4},
        "active_7_days": 2,
        "active_30_days": 3,
        "new_30_days": 6,
    }
    assert body["courses"] == 3 and body["published_courses"] == 2
    assert body["enrollments"] == {
        "total": 6,
        "active": 3,
        "completed": 2,
        "dropped": 1,
        "new_30_days": 4,
        "completed_30_days": 1,
    }
    assert body["completion_rate"] == 33.33
    assert body["certificates_issued"] == 1 and body["certificates_revoked"] == 0
    assert body["revenue"] == {"EUR": "20.00", "USD": "109.98"}
    assert body["revenue_30_days"] == {"EUR": "20.00", "USD": "99.98"}


def test_empty_system_has_zeros_not_errors(client: Any, admin: Any, auth_headers: Any) -> None:
    body = get(client, "/system/overview", admin, auth_headers).json()
    assert body["enrollments"]["total"] == 0
    assert body["completion_rate"] is None
    assert body["revenue"] == {}


def test_answers_are_cached_briefly(
    client: Any,
    world: World,
    auth_headers: Any,
    make_user: Callable[..., Any],
    env: Callable[..., None],
) -> None:
    first = get(client, "/system/overview", world.admin, auth_headers).json()
    make_user()
    cached = get(client, "/system/overview", world.admin, auth_headers).json()
    assert cached == first

    env(CACHE_ENABLED="false")
    fresh = get(client, "/system/overview", world.admin, auth_headers).json()
    assert fresh["users"]["total"] == first["users"]["total"] + 1


def test_role_checks(
    client: Any, world: World, auth_headers: Any, make_user: Callable[..., Any]
) -> None:
    student = world.students[0]
    course = f"/courses/{world.algebra.id}"
    ida_overview = f"/instructors/{world.ida.id}/overview"
    cases = [
        ("/my-progress", None, 401),
        ("/my-dashboard", None, 401),
        (course, None, 401),
        (course, student, 403),
        (course, world.jay, 403),
        (course, world.ida, 200),
        (course, world.admin, 200),
        (f"/courses/{uuid.uuid4()}", world.admin, 404),
        (ida_overview, None, 401),
        (ida_overview, student, 403),
        (ida_overview, world.jay, 403),
        (ida_overview, world.ida, 200),
        (ida_overview, world.admin, 200),
        (f"/instructors/{student.id}/overview", world.admin, 404),
        ("/system/overview", None, 401),
        ("/system/overview", student, 403),
        ("/system/overview", world.ida, 403),
        ("/system/overview", world.admin, 200),
    ]
    results = [(url, get(client, url, user, auth_headers).status_code) for url, user, _ in cases]
    assert results == [(url, expected) for url, _, expected in cases]


def test_invalid_parameters_are_refused(client: Any, world: World, auth_headers: Any) -> None:
    url = f"/courses/{world.algebra.id}"
    assert get(client, url, world.ida, auth_headers, granularity="hour").status_code == 422
    assert get(client, url, world.ida, auth_headers, days=0).status_code == 422
    assert get(client, url, world.ida, auth_headers, days=1000).status_code == 422
