"""Teaching assistants grade their cohorts only: submissions, quiz attempts, the gradebook
and its CSV export show them those students alone; a cohort filter narrows the gradebook for
everyone who grades."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from app.core.database import session_scope
from app.modules.assignments.models import Submission
from tests.modules.assignments.factories import (
    make_assignment,
    make_graded_attempt,
    make_submission,
)
from tests.modules.courses.staff_factories import Cast, create_cast
from tests.modules.quizzes.factories import make_quiz

API = "/api/v1"


def _work(cast: Cast) -> tuple[uuid.UUID, uuid.UUID, dict[str, uuid.UUID]]:
    """An essay submitted by Ann (cohort A), Bob (cohort B) and Lou (no cohort), and a quiz
    each of them took."""
    essay = make_assignment(cast.course, max_points=10)
    quiz = make_quiz(cast.course)
    people = {"ann": cast.users["student"], "bob": cast.student_b, "lou": cast.loose}
    submissions = {}
    for name, person in people.items():
        enrollment_id = cast.enrollment_ids[person.id]
        submissions[name] = make_submission(essay, enrollment_id, person)
        make_graded_attempt(quiz.id, enrollment_id, person, number=1, score="4", max_score="5")
    return essay, quiz.id, submissions


def _grade(client: Any, headers: dict[str, str], submission_id: uuid.UUID) -> Any:
    return client.post(
        f"{API}/assignments/submissions/{submission_id}/grade",
        json={"grade": "7", "feedback": "ok"},
        headers=headers,
    )


def _graded(submission_id: uuid.UUID) -> bool:
    with session_scope() as session:
        return (
            session.scalar(select(Submission.grade).where(Submission.id == submission_id))
            is not None
        )


def test_a_cohort_assistant_grades_their_cohort_only(
    client: Any, make_user: Callable[..., Any], auth_headers: Any
) -> None:
    cast = create_cast(make_user)
    essay, quiz_id, submissions = _work(cast)
    ta = auth_headers(cast.users["ta_in"])
    for name in ("bob", "lou"):
        refused = _grade(client, ta, submissions[name])
        assert (refused.status_code, refused.json()["code"]) == (403, "cohort_not_assigned")
        assert not _graded(submissions[name])
        assert (
            client.get(f"{API}/assignments/submissions/{submissions[name]}", headers=ta).status_code
            == 404
        )
    assert _grade(client, ta, submissions["ann"]).status_code == 200
    listed = client.get(f"{API}/assignments/{essay}/submissions", headers=ta).json()
    assert [item["id"] for item in listed["items"]] == [str(submissions["ann"])]
    attempts = client.get(f"{API}/quizzes/{quiz_id}/attempts", headers=ta).json()
    assert [item["user_id"] for item in attempts["items"]] == [str(cast.users["student"].id)]
    # A co-instructor, and an assistant not bound to cohorts, grade everyone.
    free_ta = make_user(role="instructor")
    client.put(
        f"{API}/courses/{cast.course.id}/staff/{free_ta.id}",
        json={"role": "teaching_assistant"},
        headers=auth_headers(cast.users["owner"]),
    )
    assert _grade(client, auth_headers(free_ta), submissions["lou"]).status_code == 200
    assert (
        _grade(client, auth_headers(cast.users["instructor"]), submissions["bob"]).status_code
        == 200
    )
    # Nobody outside the staff grades at all.
    for outsider in (cast.users["other_instructor"], cast.users["student"]):
        assert _grade(client, auth_headers(outsider), submissions["ann"]).status_code in (403, 404)


def test_the_gradebook_follows_the_assistant_and_the_cohort_filter(
    client: Any, make_user: Callable[..., Any], auth_headers: Any
) -> None:
    cast = create_cast(make_user)
    _work(cast)
    url = f"{API}/courses/{cast.course.id}/gradebook"

    def names(actor: str, **params: Any) -> list[str]:
        response = client.get(url, params=params, headers=auth_headers(cast.users[actor]))
        assert response.status_code == 200, response.text
        return [row["student_name"] for row in response.json()["items"]]

    def csv_names(actor: str, **params: Any) -> list[str]:
        response = client.get(
            url, params={"format": "csv", **params}, headers=auth_headers(cast.users[actor])
        )
        assert response.status_code == 200, response.text
        return [row["student_name"] for row in csv.DictReader(io.StringIO(response.text))]

    assert names("owner") == ["Ann A", "Bob B", "Lou L"]
    assert names("owner", cohort_id=str(cast.cohort_b)) == ["Bob B"]
    assert csv_names("instructor", cohort_id=str(cast.cohort_a)) == ["Ann A"]
    assert names("ta_in") == ["Ann A"]
    assert csv_names("ta_in") == ["Ann A"]
    assert names("ta_out") == ["Bob B"]
    assert names("admin", cohort_id=str(cast.cohort_a)) == ["Ann A"]
    for actor, cohort, status in (
        ("ta_in", cast.cohort_b, 403),
        ("owner", uuid.uuid4(), 404),
        ("other_instructor", cast.cohort_a, 403),
        ("student", cast.cohort_a, 403),
    ):
        refused = client.get(
            url, params={"cohort_id": str(cohort)}, headers=auth_headers(cast.users[actor])
        )
        assert refused.status_code == status, actor
        assert "Bob B" not in refused.text and "Ann A" not in refused.text
    # A student's own grades: for them and whoever grades them.
    grades = f"{API}/enrollments/{cast.enrollment_ids[cast.student_b.id]}/grades"
    assert client.get(grades, headers=auth_headers(cast.users["ta_out"])).status_code == 200
    assert client.get(grades, headers=auth_headers(cast.users["ta_in"])).status_code == 404
