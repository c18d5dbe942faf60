"""OneRoster 1.2 CSV files in the binding's layout (manifest, users with their 1.2 columns,
roles, orgs, academicSessions, courses, classes, enrollments), built as zips in memory."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Mapping, Sequence


def _columns(header: str) -> list[str]:
    return header.split(",")


USERS_HEADER = _columns(
    "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,"
    "middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,"
    "userMasterIdentifier,resourceSourcedIds,preferredGivenName,preferredMiddleName,"
    "preferredFamilyName,primaryOrgSourcedId,pronouns"
)
ROLES_HEADER = _columns(
    "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,"
    "orgSourcedId,userProfileSourcedId"
)
ORGS_HEADER = _columns("sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId")
SESSIONS_HEADER = _columns(
    "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear"
)
COURSES_HEADER = _columns(
    "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,"
    "orgSourcedId,subjects,subjectCodes"
)
CLASSES_HEADER = _columns(
    "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,"
    "location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods"
)
ENROLLMENTS_HEADER = _columns(
    "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,"
    "primary,beginDate,endDate"
)

HEADERS = {
    "users": USERS_HEADER,
    "roles": ROLES_HEADER,
    "orgs": ORGS_HEADER,
    "academicSessions": SESSIONS_HEADER,
    "courses": COURSES_HEADER,
    "classes": CLASSES_HEADER,
    "enrollments": ENROLLMENTS_HEADER,
}
ALL_FILES = (
    "academicSessions",
    "categories",
    "classes",
    "classResources",
    "courses",
    "courseResources",
    "demographics",
    "enrollments",
    "lineItemLearningObjectiveIds",
    "lineItems",
    "lineItemScoreScales",
    "orgs",
    "resources",
    "results",
    "roles",
    "scoreScales",
    "userProfiles",
    "userResources",
    "users",
)


def csv_text(header: Sequence[str], rows: Sequence[Mapping[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(header), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def manifest(modes: Mapping[str, str]) -> str:
    rows = [
        ("manifest.version", "1.0"),
        ("oneroster.version", "1.2"),
        *((f"file.{name}", modes.get(name, "absent")) for name in ALL_FILES),
        ("source.systemName", "Example SIS"),
        ("source.systemCode", "example-sis"),
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["propertyName", "value"])
    writer.writerows(rows)
    return out.getvalue()


def build_zip(
    files: Mapping[str, str | bytes], *, compression: int = zipfile.ZIP_DEFLATED
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def roster_zip(data: Mapping[str, Sequence[Mapping[str, str]]], *, mode: str = "bulk") -> bytes:
    """A zip with a manifest declaring every data set in `data` as `mode`."""
    files: dict[str, str | bytes] = {"manifest.csv": manifest({n: mode for n in data})}
    for name, rows in data.items():
        files[f"{name}.csv"] = csv_text(HEADERS[name], rows)
    return build_zip(files)


STAMP = "2026-09-01T08:00:00.000Z"


def user(sourced_id: str, given: str, family: str, email: str, **extra: str) -> dict[str, str]:
    return {
        "sourcedId": sourced_id,
        "status": "active",
        "dateLastModified": STAMP,
        "enabledUser": "true",
        "username": email.split("@")[0],
        "userIds": "{LDAP:" + sourced_id + "}",
        "givenName": given,
        "familyName": family,
        "identifier": sourced_id.upper(),
        "email": email,
        "password": "Plain-text-Pa55",
        "primaryOrgSourcedId": "org-school",
        **extra,
    }


def role(user_id: str, name: str, **extra: str) -> dict[str, str]:
    return {
        "sourcedId": f"role-{user_id}",
        "status": "active",
        "dateLastModified": STAMP,
        "userSourcedId": user_id,
        "roleType": "primary",
        "role": name,
        "orgSourcedId": "org-school",
        **extra,
    }


def enrollment(
    sourced_id: str, class_id: str, user_id: str, name: str, **extra: str
) -> dict[str, str]:
    return {
        "sourcedId": sourced_id,
        "status": "active",
        "dateLastModified": STAMP,
        "classSourcedId": class_id,
        "schoolSourcedId": "org-school",
        "userSourcedId": user_id,
        "role": name,
        "primary": "true" if name == "teacher" else "false",
        "beginDate": "2026-09-01",
        "endDate": "2027-06-30",
        **extra,
    }


def sample_roster() -> dict[str, list[dict[str, str]]]:
    """A district, a school, a school year and term, a course with two classes (sections),
    a teacher, an administrator and three students."""
    return {
        "orgs": [
            {
                "sourcedId": "org-district",
                "status": "active",
                "dateLastModified": STAMP,
                "name": "Springfield District",
                "type": "district",
                "identifier": "SD-1",
            },
            {
                "sourcedId": "org-school",
                "status": "active",
                "dateLastModified": STAMP,
                "name": "Springfield High",
                "type": "school",
                "identifier": "SH-1",
                "parentSourcedId": "org-district",
            },
        ],
        "academicSessions": [
            {
                "sourcedId": "year-2026",
                "status": "active",
                "dateLastModified": STAMP,
                "title": "2026-2027",
                "type": "schoolYear",
                "startDate": "2026-09-01",
                "endDate": "2027-06-30",
                "schoolYear": "2027",
            },
            {
                "sourcedId": "term-fall",
                "status": "active",
                "dateLastModified": STAMP,
                "title": "Fall 2026",
                "type": "term",
                "startDate": "2026-09-01",
                "endDate": "2026-12-20",
                "parentSourcedId": "year-2026",
                "schoolYear": "2027",
            },
        ],
        "courses": [
            {
                "sourcedId": "course-bio",
                "status": "active",
                "dateLastModified": STAMP,
                "schoolYearSourcedId": "year-2026",
                "title": "Biology I",
                "courseCode": "BIO1",
                "grades": "09",
                "orgSourcedId": "org-school",
                "subjects": "Science",
            }
        ],
        "users": [
            user("t-1", "Tess", "Teacher", "tess.teacher@school.example"),
            user("a-1", "Adam", "Admin", "adam.admin@school.example"),
            user("s-1", "Sara", "Student", "sara.student@school.example", grades="09"),
            user("s-2", "Sam", "Pupil", "sam.pupil@school.example", grades="09"),
            user("s-3", "Sol", "Learner", "sol.learner@school.example", grades="09"),
        ],
        "roles": [
            role("t-1", "teacher"),
            role("a-1", "administrator"),
            role("s-1", "student"),
            role("s-2", "student"),
            role("s-3", "student"),
        ],
        "classes": [
            {
                "sourcedId": f"class-bio-{period}",
                "status": "active",
                "dateLastModified": STAMP,
                "title": f"Biology I - Period {period}",
                "grades": "09",
                "courseSourcedId": "course-bio",
                "classCode": f"BIO1-{period}",
                "classType": "scheduled",
                "location": "Room 101",
                "schoolSourcedId": "org-school",
                "termSourcedIds": "term-fall",
                "subjects": "Science",
                "periods": period,
            }
            for period in ("1", "2")
        ],
        "enrollments": [
            enrollment("e-t1-c1", "class-bio-1", "t-1", "teacher"),
            enrollment("e-t1-c2", "class-bio-2", "t-1", "teacher"),
            enrollment("e-s1-c1", "class-bio-1", "s-1", "student"),
            enrollment("e-s2-c1", "class-bio-1", "s-2", "student"),
            enrollment("e-s3-c2", "class-bio-2", "s-3", "student"),
        ],
    }
