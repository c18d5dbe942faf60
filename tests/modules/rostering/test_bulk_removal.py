"""A bulk file is the complete set (OneRoster 1.2 CSV binding): what earlier imports mapped
and the file no longer lists is removed once it is read (enrollments dropped, accounts
deactivated but kept, classes archived) and reported as `removed`; a delta file removes only
its `tobedeleted` rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.modules.courses.models import Course, Enrollment
from app.modules.rostering.models import RosterSource
from app.modules.users.models import User
from tests.modules.rostering.conftest import Upload
from tests.modules.rostering.samples import roster_zip, sample_roster, user


def _completed(client: Any, headers: dict[str, str], response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    body = client.get(f"/api/v1/rostering/imports/{response.json()['id']}", headers=headers)
    assert body.json()["status"] == "completed", body.json()
    return dict(body.json())


def _without_sol_and_period_2() -> dict[str, list[dict[str, str]]]:
    """The sample roster a term later: Sol has left, the second section closed, and Sam's
    row is refused (so Sam, still listed, stays)."""
    data = sample_roster()
    data["users"] = [u for u in data["users"] if u["sourcedId"] != "s-3"]
    data["users"] = [
        {**u, "enabledUser": "maybe"} if u["sourcedId"] == "s-2" else u for u in data["users"]
    ]
    data["roles"] = [r for r in data["roles"] if r["userSourcedId"] != "s-3"]
    data["classes"] = [c for c in data["classes"] if c["sourcedId"] != "class-bio-2"]
    data["enrollments"] = [
        e for e in data["enrollments"] if e["sourcedId"] not in ("e-t1-c2", "e-s3-c2", "e-s2-c1")
    ]
    return data


def _people(db: Any) -> dict[str, User]:
    return {u.email.split("@")[0]: u for u in db.scalars(select(User))}


def _statuses(db: Any) -> dict[str, str]:
    names = {u.id: u.email.split("@")[0] for u in db.scalars(select(User))}
    return {names[e.student_id]: e.status for e in db.scalars(select(Enrollment))}


def test_a_bulk_file_removes_what_it_no_longer_lists(
    client: Any, admin: Any, auth_headers: Any, upload: Upload, make_user: Any, db: Any
) -> None:
    headers = auth_headers(admin)
    bystander = make_user(email="walk.in@school.example")
    _completed(client, headers, upload(roster_zip(sample_roster())))

    body = _completed(client, headers, upload(roster_zip(_without_sol_and_period_2())))
    summary = body["summary"]
    assert summary["users"]["removed"] == 1 and summary["users"]["refused"] == 1
    assert summary["classes"]["removed"] == 1
    assert summary["enrollments"]["removed"] == 3
    assert summary["orgs"]["removed"] == summary["courses"]["removed"] == 0
    assert "roles" not in summary or summary["roles"]["removed"] == 0

    db.expire_all()
    people = _people(db)
    # Sol left: deactivated, not deleted; Sam's row was refused but lists Sam, who stays.
    assert people["sol.learner"].is_active is False
    assert people["sam.pupil"].is_active is True
    assert people["sara.student"].is_active is True
    # Neither the importing administrator nor an account no roster made is touched.
    assert people["admin"].is_active is True
    assert db.get(User, bystander.id).is_active is True
    assert _statuses(db) == {
        "sara.student": "active",
        "sam.pupil": "dropped",
        "sol.learner": "dropped",
    }
    closed = db.scalar(select(Course).where(Course.title == "Biology I - Period 2"))
    assert closed.archived_at is not None and closed.is_published is False
    assert (
        db.scalar(select(Course).where(Course.title == "Biology I - Period 1")).archived_at is None
    )
    # The removed records leave the mapping: the next bulk file finds nothing more to remove.
    gone = ["s-3", "class-bio-2", "e-t1-c2", "e-s3-c2", "e-s2-c1"]
    assert db.scalar(select(func.count()).where(RosterSource.sourced_id.in_(gone))) == 0
    db.commit()  # the checks' transaction ends before the next import writes
    again = _completed(client, headers, upload(roster_zip(_without_sol_and_period_2())))
    assert {name: counts["removed"] for name, counts in again["summary"].items()} == {
        name: 0 for name in again["summary"]
    }


def test_a_bulk_dry_run_reports_removals_and_changes_nothing(
    client: Any, admin: Any, auth_headers: Any, upload: Upload, db: Any
) -> None:
    headers = auth_headers(admin)
    _completed(client, headers, upload(roster_zip(sample_roster())))
    mapped = db.scalar(select(func.count()).select_from(RosterSource))
    db.commit()

    body = _completed(
        client, headers, upload(roster_zip(_without_sol_and_period_2()), dry_run=True)
    )
    assert body["summary"]["users"]["removed"] == 1
    assert body["summary"]["classes"]["removed"] == 1
    assert body["summary"]["enrollments"]["removed"] == 3
    db.expire_all()
    assert _people(db)["sol.learner"].is_active is True
    assert set(_statuses(db).values()) == {"active"}
    assert db.scalar(select(func.count()).where(Course.archived_at.is_not(None))) == 0
    assert db.scalar(select(func.count()).select_from(RosterSource)) == mapped


def test_a_delta_file_removes_only_its_tobedeleted_rows(
    client: Any, admin: Any, auth_headers: Any, upload: Upload, db: Any
) -> None:
    headers = auth_headers(admin)
    _completed(client, headers, upload(roster_zip(sample_roster())))
    later = "2026-10-01T08:00:00.000Z"
    delta = {
        "users": [
            user("s-1", "Sara", "Renamed", "sara.student@school.example", dateLastModified=later),
            {
                **user("s-3", "Sol", "Learner", "sol.learner@school.example"),
                "status": "tobedeleted",
                "dateLastModified": later,
            },
        ],
        "classes": [],
        "enrollments": [],
    }
    body = _completed(client, headers, upload(roster_zip(delta, mode="delta")))
    assert body["summary"]["users"]["deleted"] == 1
    assert all(counts["removed"] == 0 for counts in body["summary"].values())
    db.expire_all()
    people = _people(db)
    # Unlisted in the delta file is "unchanged", not "gone".
    assert people["sam.pupil"].is_active is True and people["tess.teacher"].is_active is True
    assert people["sol.learner"].is_active is False
    assert set(_statuses(db).values()) == {"active"}
    assert db.scalar(select(func.count()).where(Course.archived_at.is_not(None))) == 0
