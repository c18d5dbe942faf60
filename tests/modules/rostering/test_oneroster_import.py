"""OneRoster 1.2 CSV imports: the specification's layout, re-imports, deltas, dry runs and
refused rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.core.security import verify_password
from app.modules.courses.models import Course, Enrollment
from app.modules.rostering.models import RosterImport, RosterSource
from app.modules.users.models import User
from tests.factories import DEFAULT_PASSWORD
from tests.modules.rostering.conftest import Upload, invitation_token, mail_to
from tests.modules.rostering.samples import enrollment, role, roster_zip, sample_roster, user


def _finished(client: Any, headers: dict[str, str], response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    detail = client.get(f"/api/v1/rostering/imports/{response.json()['id']}", headers=headers)
    assert detail.status_code == 200
    body = detail.json()
    assert body["status"] == "completed", body
    return body


def _count(db: Any, model: Any) -> int:
    return int(db.scalar(select(func.count()).select_from(model)))


def test_sample_roster_creates_users_courses_and_enrollments(
    client: Any, admin: Any, auth_headers: Any, upload: Upload, db: Any
) -> None:
    headers = auth_headers(admin)
    body = _finished(client, headers, upload(roster_zip(sample_roster())))
    assert body["rows_total"] == body["rows_done"] == 2 + 2 + 1 + 5 + 5 + 2 + 5
    assert body["error_count"] == 0 and body["errors"] == []
    assert body["summary"]["users"]["created"] == 5
    assert body["summary"]["classes"]["created"] == 2
    assert body["summary"]["enrollments"]["created"] == 5
    assert body["files"]["users"] == "bulk"

    people = {u.email: u for u in db.scalars(select(User).where(User.email.like("%@school.%")))}
    assert {e: u.role for e, u in people.items()} == {
        "tess.teacher@school.example": "instructor",
        "adam.admin@school.example": "admin",
        "sara.student@school.example": "student",
        "sam.pupil@school.example": "student",
        "sol.learner@school.example": "student",
    }
    assert people["sara.student@school.example"].full_name == "Sara Student"
    # The CSV's password column is never stored: imported accounts have no password at all.
    assert all(u.password_hash is None for u in people.values())

    courses = {c.title: c for c in db.scalars(select(Course))}
    assert set(courses) == {"Biology I - Period 1", "Biology I - Period 2"}
    teacher = people["tess.teacher@school.example"]
    for course in courses.values():
        assert course.instructor_id == teacher.id
        assert course.description == "Biology I"
        assert course.metadata_["oneroster"]["courseSourcedId"] == "course-bio"
        assert course.metadata_["oneroster"]["termSourcedIds"] == ["term-fall"]
    enrolled = {(e.student_id, e.course_id) for e in db.scalars(select(Enrollment))}
    period1 = courses["Biology I - Period 1"].id
    assert enrolled == {
        (people["sara.student@school.example"].id, period1),
        (people["sam.pupil@school.example"].id, period1),
        (people["sol.learner@school.example"].id, courses["Biology I - Period 2"].id),
    }
    kinds = dict(
        db.execute(select(RosterSource.kind, func.count()).group_by(RosterSource.kind)).all()
    )
    assert kinds == {
        "org": 2,
        "academicSession": 2,
        "course": 1,
        "user": 5,
        "class": 2,
        "enrollment": 5,
    }


def test_imported_user_sets_a_password_through_the_invitation(
    client: Any, admin: Any, auth_headers: Any, upload: Upload
) -> None:
    _finished(client, auth_headers(admin), upload(roster_zip(sample_roster())))
    address = "sara.student@school.example"
    invitation = mail_to(address)[-1]
    assert "account is ready" in invitation["subject"]
    token = invitation_token(address)
    reset = client.post(
        "/api/v1/auth/reset-password", json={"token": token, "new_password": "Chosen-Pa55word"}
    )
    assert reset.status_code in (200, 204), reset.text
    login = client.post(
        "/api/v1/auth/login", json={"email": address, "password": "Chosen-Pa55word"}
    )
    assert login.status_code == 200, login.text
    # The CSV's plain-text password does not open the account.
    wrong = client.post(
        "/api/v1/auth/login", json={"email": address, "password": "Plain-text-Pa55"}
    )
    assert wrong.status_code == 401


def test_reimport_updates_instead_of_duplicating(
    client: Any, admin: Any, auth_headers: Any, upload: Upload, db: Any
) -> None:
    headers = auth_headers(admin)
    _finished(client, headers, upload(roster_zip(sample_roster())))
    data = sample_roster()
    data["users"][2]["givenName"] = "Sarah"
    again = _finished(client, headers, upload(roster_zip(data)))
    assert again["summary"]["users"] == {
        "created": 0,
        "updated": 5,
        "deleted": 0,
        "skipped": 0,
        "refused": 0,
        "removed": 0,
    }
    assert again["summary"]["enrollments"]["created"] == 0
    assert _count(db, User) == 6  # the five imported and the administrator
    assert _count(db, Course) == 2
    assert _count(db, Enrollment) == 3
    sara = db.scalar(select(User).where(User.email == "sara.student@school.example"))
    assert sara.full_name == "Sarah Student"
    # One invitation per new account, none for an update.
    assert len(mail_to("sara.student@school.example")) == 1


def test_an_existing_account_with_the_roster_email_is_adopted(
    client: Any, admin: Any, auth_headers: Any, upload: Upload, make_user: Any, db: Any
) -> None:
    existing = make_user(email="sam.pupil@school.example", full_name="Samuel P")
    _finished(client, auth_headers(admin), upload(roster_zip(sample_roster())))
    assert _count(db, User) == 6
    sam = db.get(User, existing.id)
    assert sam.full_name == "Sam Pupil"
    # The account keeps its password (and gets no invitation).
    assert verify_password(DEFAULT_PASSWORD, sam.password_hash)[0]
    assert mail_to("sam.pupil@school.example") == []


def test_delta_updates_drops_and_skips_stale_rows(
    client: Any, admin: Any, auth_headers: Any, upload: Upload, db: Any
) -> None:
    headers = auth_headers(admin)
    _finished(client, headers, upload(roster_zip(sample_roster())))
    later, earlier = "2026-10-01T08:00:00.000Z", "2026-08-01T08:00:00.000Z"
    delta = {
        "users": [
            user("s-1", "Sara", "Renamed", "sara.student@school.example", dateLastModified=later),
            user("s-2", "Stale", "Row", "sam.pupil@school.example", dateLastModified=earlier),
            {
                **user("s-3", "Sol", "Learner", "sol.learner@school.example"),
                "status": "tobedeleted",
                "dateLastModified": later,
            },
        ],
        "classes": [],
        "enrollments": [
            enrollment(
                "e-s2-c1",
                "class-bio-1",
                "s-2",
                "student",
                status="tobedeleted",
                dateLastModified=later,
            ),
        ],
    }
    body = _finished(client, headers, upload(roster_zip(delta, mode="delta")))
    assert body["files"] == {"users": "delta", "classes": "delta", "enrollments": "delta"}
    assert body["summary"]["users"] == {
        "created": 0,
        "updated": 1,
        "deleted": 1,
        "skipped": 1,
        "refused": 0,
        "removed": 0,
    }
    assert body["summary"]["enrollments"]["deleted"] == 1
    people = {u.email: u for u in db.scalars(select(User))}
    assert people["sara.student@school.example"].full_name == "Sara Renamed"
    assert people["sam.pupil@school.example"].full_name == "Sam Pupil"
    assert people["sol.learner@school.example"].is_active is False
    sam = people["sam.pupil@school.example"]
    dropped = db.scalar(select(Enrollment).where(Enrollment.student_id == sam.id))
    assert dropped.status == "dropped" and dropped.dropped_at is not None
    # Dropped records leave the mapping: a later roster can create them anew.
    assert (
        db.scalar(select(func.count()).where(RosterSource.sourced_id.in_(["s-3", "e-s2-c1"]))) == 0
    )


def test_delta_rows_need_status_and_date(
    client: Any, admin: Any, auth_headers: Any, upload: Upload, db: Any
) -> None:
    data = sample_roster()
    data["users"][0]["dateLastModified"] = ""
    body = _finished(client, auth_headers(admin), upload(roster_zip(data, mode="delta")))
    reasons = {(e["file"], e["line"]): e["reason"] for e in body["errors"]}
    assert "delta row needs status and dateLastModified" in reasons[("users.csv", 2)]
    # The rows that refer to the refused user are refused in turn.
    assert "userSourcedId t-1 is unknown" in reasons[("roles.csv", 2)]
    assert db.scalar(select(func.count()).select_from(User)) == 5


def test_dry_run_reports_without_writing(
    client: Any, admin: Any, auth_headers: Any, upload: Upload, db: Any
) -> None:
    body = _finished(client, auth_headers(admin), upload(roster_zip(sample_roster()), dry_run=True))
    assert body["dry_run"] is True
    assert body["summary"]["users"]["created"] == 5
    assert body["summary"]["classes"]["created"] == 2
    assert body["summary"]["enrollments"]["created"] == 5
    assert body["error_count"] == 0
    assert _count(db, User) == 1
    assert _count(db, Course) == 0
    assert _count(db, Enrollment) == 0
    assert _count(db, RosterSource) == 0
    assert mail_to("sara.student@school.example") == []


def test_bad_rows_are_reported_and_never_half_applied(
    client: Any, admin: Any, auth_headers: Any, upload: Upload, db: Any
) -> None:
    data = sample_roster()
    data["users"].extend(
        [
            user("bad-email", "No", "Mail", "not-an-address", username="nomail"),
            user("bad-enabled", "Odd", "Flag", "odd@school.example", enabledUser="maybe"),
            user("dup-email", "Copy", "Cat", "sara.student@school.example"),
            {**user("no-name", "", "Nobody", "nobody@school.example")},
        ]
    )
    data["roles"].append({**data["roles"][0], "sourcedId": "role-x", "userSourcedId": "ghost"})
    data["enrollments"].extend(
        [
            enrollment("e-ghost", "class-bio-1", "ghost", "student"),
            enrollment("e-noclass", "class-none", "s-1", "student"),
            enrollment("e-aide", "class-bio-1", "s-1", "aide"),
            enrollment("e-student-teacher", "class-bio-2", "s-2", "teacher"),
        ]
    )
    body = _finished(client, auth_headers(admin), upload(roster_zip(data)))
    reasons = {(e["file"], e["line"]): e["reason"] for e in body["errors"]}
    assert body["error_count"] == len(reasons) == 9
    assert "no email address" in reasons[("users.csv", 7)]
    assert "enabledUser" in reasons[("users.csv", 8)]
    assert "appears twice" in reasons[("users.csv", 9)]
    assert "givenName and familyName" in reasons[("users.csv", 10)]
    assert "userSourcedId ghost is unknown" in reasons[("roles.csv", 7)]
    assert "userSourcedId ghost is unknown" in reasons[("enrollments.csv", 7)]
    assert "classSourcedId class-none is unknown" in reasons[("enrollments.csv", 8)]
    assert "role aide" in reasons[("enrollments.csv", 9)]
    assert "teacher or administrator" in reasons[("enrollments.csv", 10)]
    assert {e["sourced_id"] for e in body["errors"]} >= {"bad-email", "e-aide"}
    errors = client.get(
        f"/api/v1/rostering/imports/{body['id']}/errors",
        params={"page_size": 5},
        headers=auth_headers(admin),
    )
    assert errors.status_code == 200
    assert errors.json()["total"] == 9 and len(errors.json()["items"]) == 5
    # The refused rows left nothing behind; the good ones were applied.
    emails = set(db.scalars(select(User.email)))
    assert "odd@school.example" not in emails and "nobody@school.example" not in emails
    assert _count(db, Enrollment) == 3
    sam = db.scalar(select(User).where(User.email == "sam.pupil@school.example"))
    assert sam.id not in set(db.scalars(select(Course.instructor_id)))


def test_imports_are_listed_newest_first(
    client: Any, admin: Any, auth_headers: Any, upload: Upload, db: Any
) -> None:
    headers = auth_headers(admin)
    first = _finished(client, headers, upload(roster_zip(sample_roster()), dry_run=True))
    second = _finished(client, headers, upload(roster_zip(sample_roster())))
    listed = client.get("/api/v1/rostering/imports", params={"page_size": 1}, headers=headers)
    assert listed.status_code == 200
    page = listed.json()
    assert page["total"] == 2 and page["pages"] == 2
    assert page["items"][0]["id"] in {first["id"], second["id"]}
    # The archive is not kept once its import has run.
    keys = set(db.scalars(select(RosterImport.archive_key)))
    from app.core.storage import get_storage

    assert not any(get_storage("uploads").exists(key) for key in keys)


def test_a_field_holding_nul_refuses_its_row(
    client: Any, admin: Any, auth_headers: Any, upload: Upload, db: Any
) -> None:
    data = sample_roster()
    data["users"].extend(
        [
            user("s-nul", "N\x00ul", "Name", "nul.name@school.example"),
            user("s-\x00id", "Nul", "Id", "nul.id@school.example"),
        ]
    )
    data["classes"].append(
        {**data["classes"][0], "sourcedId": "class-nul", "location": "Room\x00 9"}
    )
    body = _finished(client, auth_headers(admin), upload(roster_zip(data)))
    errors = {(e["file"], e["line"]): e for e in body["errors"]}
    assert body["error_count"] == len(errors) == 3
    assert (
        errors[("users.csv", 7)]["reason"] == "givenName must not contain NUL (\\u0000) characters"
    )
    assert errors[("users.csv", 7)]["sourced_id"] == "s-nul"
    assert (
        errors[("users.csv", 8)]["reason"] == "sourcedId must not contain NUL (\\u0000) characters"
    )
    assert errors[("users.csv", 8)]["sourced_id"] == "s-id"
    assert "location must not contain NUL" in errors[("classes.csv", 4)]["reason"]
    # The other rows are applied; the refused ones left nothing behind.
    assert body["summary"]["users"]["created"] == 5
    assert body["summary"]["classes"]["created"] == 2
    emails = set(db.scalars(select(User.email)))
    assert not emails & {"nul.name@school.example", "nul.id@school.example"}
    assert not any("\x00" in name for name in db.scalars(select(User.full_name)))
    assert _count(db, Course) == 2


def _account(db: Any, user_id: Any) -> dict[str, Any]:
    db.expire_all()
    account = db.get(User, user_id)
    values = {column.key: getattr(account, column.key) for column in User.__mapper__.column_attrs}
    # Ends the read, which would otherwise keep the embedded database from the import's writes.
    db.rollback()
    return values


def test_the_importing_administrator_is_never_changed(
    client: Any, admin: Any, auth_headers: Any, upload: Upload, db: Any
) -> None:
    headers = auth_headers(admin)
    before = _account(db, admin.id)
    data = sample_roster()
    # The SIS lists the administrator, under another name, as a disabled student who also
    # teaches (not as primary teacher) the first section.
    data["users"].append(user("me", "Renamed", "Person", admin.email, enabledUser="false"))
    data["roles"].append(role("me", "student"))
    data["enrollments"].append(
        enrollment("e-me-c1", "class-bio-1", "me", "teacher", primary="false")
    )
    dry = _finished(client, headers, upload(roster_zip(data), dry_run=True))
    body = _finished(client, headers, upload(roster_zip(data)))
    assert dry["summary"] == body["summary"]
    assert body["error_count"] == dry["error_count"] == 0, body["errors"]
    assert body["summary"]["users"]["skipped"] == 1
    assert body["summary"]["users"]["created"] == 5
    assert body["summary"]["roles"]["skipped"] == 1
    # The row still names the account, so the rows referring to it apply.
    assert body["summary"]["enrollments"]["created"] == 6
    source = db.scalar(select(RosterSource).where(RosterSource.sourced_id == "me"))
    assert source is not None and source.local_id == admin.id
    assert _account(db, admin.id) == before

    # A bulk file that no longer lists the administrator removes nothing of theirs.
    body = _finished(client, headers, upload(roster_zip(sample_roster())))
    assert body["summary"]["users"]["removed"] == 0
    assert body["summary"]["enrollments"]["removed"] == 1
    assert _account(db, admin.id) == before

    # Found by its sourcedId with another email, then dropped: still untouched.
    later = "2026-10-01T08:00:00.000Z"
    delta = {
        "users": [user("me", "Other", "Name", "moved@school.example", dateLastModified=later)],
        "roles": [role("me", "student", dateLastModified=later)],
        "classes": [],
        "enrollments": [],
    }
    body = _finished(client, headers, upload(roster_zip(delta, mode="delta")))
    assert body["summary"]["users"]["skipped"] == 1
    assert body["summary"]["users"]["updated"] == 0
    assert _account(db, admin.id) == before
    gone = {**delta, "users": [{**delta["users"][0], "status": "tobedeleted"}], "roles": []}
    gone["users"][0]["dateLastModified"] = "2026-11-01T08:00:00.000Z"
    body = _finished(client, headers, upload(roster_zip(gone, mode="delta")))
    assert body["summary"]["users"]["skipped"] == 1
    assert body["summary"]["users"]["deleted"] == 0
    assert _account(db, admin.id) == before
