"""The whole learning journey over HTTP, as a client would drive it."""

from __future__ import annotations

import uuid
from typing import Any

from tests.modules.courses.factories import let_time_pass

API = "/api/v1"


def test_instructor_to_completed_student(
    client: Any, instructor: Any, student: Any, auth_headers: Any, recorded: list[Any]
) -> None:
    teacher = auth_headers(instructor)
    learner = auth_headers(student)

    created = client.post(
        f"{API}/courses",
        json={
            "title": "Practical Python",
            "description": "From scripts to packages",
            "category": "programming",
            "difficulty_level": "beginner",
        },
        headers=teacher,
    )
    assert created.status_code == 201, created.text
    course = created.json()
    assert course["slug"] == "practical-python"
    assert course["is_published"] is False
    course_id = course["id"]

    lesson_ids = []
    for index, kind in enumerate(["video", "text", "text"]):
        response = client.post(
            f"{API}/courses/{course_id}/lessons",
            json={
                "title": f"Part {index + 1}",
                "lesson_type": kind,
                "content": f"Body {index + 1}",
                "duration_minutes": 15,
                "is_published": True,
                "is_preview": index == 0,
            },
            headers=teacher,
        )
        assert response.status_code == 201, response.text
        lesson_ids.append(response.json()["id"])

    published = client.post(f"{API}/courses/{course_id}/publish", headers=teacher)
    assert published.status_code == 200, published.text
    assert published.json()["lesson_count"] == 3
    assert published.json()["total_duration_minutes"] == 45

    catalogue = client.get(f"{API}/courses", params={"search": "python"}).json()
    assert [item["id"] for item in catalogue["items"]] == [course_id]

    enrolled = client.post(f"{API}/enrollments", json={"course_id": course_id}, headers=learner)
    assert enrolled.status_code == 201, enrolled.text
    enrollment_id = enrolled.json()["id"]
    assert enrolled.json()["total_lessons_count"] == 3

    for seconds in (30, 60, 90):
        beat = client.put(
            f"{API}/enrollments/{enrollment_id}/lessons/{lesson_ids[0]}/progress",
            json={
                "position_seconds": seconds,
                "time_spent_delta_seconds": 30,
                "completion_percentage": seconds / 9,
            },
            headers=learner,
        )
        assert beat.status_code == 200, beat.text
        let_time_pass(uuid.UUID(enrollment_id), 30)
    assert beat.json()["last_position_seconds"] == 90
    assert beat.json()["time_spent_seconds"] == 90

    for lesson_id in lesson_ids:
        done = client.post(
            f"{API}/enrollments/{enrollment_id}/lessons/{lesson_id}/complete", headers=learner
        )
        assert done.status_code == 200, done.text
    final = done.json()
    assert final["status"] == "completed"
    assert final["progress_percentage"] == 100.0
    assert final["completed_at"] is not None
    assert final["total_time_spent_seconds"] == 90

    reviewed = client.post(
        f"{API}/enrollments/{enrollment_id}/review",
        json={"rating": 5, "review": "Clear and practical"},
        headers=learner,
    )
    assert reviewed.status_code == 200, reviewed.text

    stats = client.get(f"{API}/enrollments/courses/{course_id}/stats", headers=teacher).json()
    assert stats["total_enrollments"] == 1
    assert stats["completed"] == 1
    assert stats["completion_rate"] == 100.0
    # One unit (percent) for the same course in the stats and in the analytics.
    analytics = client.get(f"{API}/analytics/courses/{course_id}", headers=teacher).json()
    assert analytics["completion_rate"] == stats["completion_rate"]
    assert stats["average_rating"] == 5.0
    assert stats["average_progress"] == 100.0

    mine = client.get(f"{API}/enrollments/my-courses", headers=learner).json()
    assert mine["total"] == 1
    assert mine["items"][0]["course"]["title"] == "Practical Python"

    names = [name for name, _payload in recorded]
    assert names == ["enrollment.created", "course.completed"]
    assert recorded[1][1] == {
        "enrollment_id": enrollment_id,
        "student_id": str(student.id),
        "course_id": course_id,
    }
