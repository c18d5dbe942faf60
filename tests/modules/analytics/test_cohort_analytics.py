"""Course analytics of one cohort: the figures count that cohort's students only, a cohort of
another course is not found, and teaching assistants do not see course analytics."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import update

from app.core.database import session_scope
from app.modules.enrollments.models import Enrollment
from tests.modules.assignments.factories import make_graded_attempt
from tests.modules.courses.staff_factories import create_cast
from tests.modules.quizzes.factories import make_quiz

API = "/api/v1"


def test_course_analytics_of_one_cohort(
    client: Any, make_user: Callable[..., Any], auth_headers: Any
) -> None:
    cast = create_cast(make_user)
    quiz = make_quiz(cast.course)
    for person, rating, score in ((cast.users["student"], 5, "5"), (cast.student_b, 2, "1")):
        enrollment_id = cast.enrollment_ids[person.id]
        make_graded_attempt(quiz.id, enrollment_id, person, number=1, score=score, max_score="5")
        with session_scope() as session:
            session.execute(
                update(Enrollment).where(Enrollment.id == enrollment_id).values(rating=rating)
            )
    url = f"{API}/analytics/courses/{cast.course.id}"
    owner = auth_headers(cast.users["owner"])
    whole = client.get(url, headers=owner).json()
    assert whole["enrollments"]["total"] == 3
    assert whole["rating"]["count"] == 2
    cohort_b = client.get(url, params={"cohort_id": str(cast.cohort_b)}, headers=owner)
    assert cohort_b.status_code == 200
    body = cohort_b.json()
    assert body["enrollments"]["total"] == 1
    assert (body["rating"]["average"], body["rating"]["count"]) == (2.0, 1)
    assert [(q["attempts"], q["students"]) for q in body["quizzes"]] == [(1, 1)]
    # Answers are cached per cohort: the whole course's figures are unchanged.
    assert client.get(url, headers=owner).json()["enrollments"]["total"] == 3
    co_instructor = auth_headers(cast.users["instructor"])
    cohort_a = client.get(url, params={"cohort_id": str(cast.cohort_a)}, headers=co_instructor)
    assert cohort_a.json()["rating"]["average"] == 5.0
    missing = client.get(url, params={"cohort_id": str(uuid.uuid4())}, headers=owner)
    assert (missing.status_code, missing.json()["code"]) == (404, "cohort_not_found")
    for actor in ("ta_in", "other_instructor"):
        refused = client.get(
            url, params={"cohort_id": str(cast.cohort_a)}, headers=auth_headers(cast.users[actor])
        )
        assert refused.status_code == 403, actor
