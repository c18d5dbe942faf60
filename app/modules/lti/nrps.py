"""NRPS 2.0: a course's members for a tool deployed in it: the instructor and the enrolled
students, with the same `user_id` as the tool's launches' `sub`; name and email per the tool's
privacy settings."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import case, literal, select, union_all
from sqlalchemy.orm import Session

from app.core.errors import BusinessRuleViolation, NotFound
from app.core.pagination import PageParams, paginate_rows
from app.modules.courses.models import ENROLLED_STATUSES, Course, Enrollment
from app.modules.lti import claims as c
from app.modules.lti import subjects, urls
from app.modules.lti.models import LtiResourceLink
from app.modules.lti.tokens import ServiceCaller
from app.modules.users.models import User

ROLE_NAMES = {
    c.ROLE_LEARNER: c.ROLE_LEARNER,
    "Learner": c.ROLE_LEARNER,
    c.ROLE_INSTRUCTOR: c.ROLE_INSTRUCTOR,
    "Instructor": c.ROLE_INSTRUCTOR,
}


def memberships(
    db: Session,
    *,
    caller: ServiceCaller,
    course_id: uuid.UUID,
    role: str | None,
    rlid: str | None,
    params: PageParams,
) -> tuple[dict[str, Any], int]:
    course = db.get(Course, course_id)
    if course is None:
        raise NotFound("Context not found", code="course_not_found")
    if rlid is not None:
        try:
            link = db.get(LtiResourceLink, uuid.UUID(rlid))
        except ValueError:
            link = None
        if link is None or link.course_id != course_id or link.tool_id != caller.tool.id:
            raise NotFound("Resource link not found", code="lti_link_not_found")
    wanted = None
    if role is not None:
        wanted = ROLE_NAMES.get(role)
        if wanted is None:
            raise BusinessRuleViolation(f"Unknown role {role!r}", code="lti_unknown_role")
    instructor = select(
        User.id.label("user_id"),
        User.full_name.label("name"),
        User.email.label("email"),
        literal(c.ROLE_INSTRUCTOR).label("role"),
        literal("Active").label("status"),
        literal(0).label("rank"),
    ).where(User.id == course.instructor_id)
    students = (
        select(
            User.id.label("user_id"),
            User.full_name.label("name"),
            User.email.label("email"),
            literal(c.ROLE_LEARNER).label("role"),
            case((Enrollment.status.in_(ENROLLED_STATUSES), "Active"), else_="Inactive").label(
                "status"
            ),
            literal(1).label("rank"),
        )
        .join(Enrollment, Enrollment.student_id == User.id)
        .where(Enrollment.course_id == course_id)
    )
    parts = [
        part
        for part, part_role in ((instructor, c.ROLE_INSTRUCTOR), (students, c.ROLE_LEARNER))
        if wanted in (None, part_role)
    ]
    members = union_all(*parts).subquery("members")
    statement = select(members).order_by(members.c.rank, members.c.name, members.c.user_id)
    rows, total = paginate_rows(db, statement, params)
    tool = caller.tool
    subs = subjects.subs_for(db, tool_id=tool.id, user_ids=[row.user_id for row in rows])
    listed = []
    for row in rows:
        member: dict[str, Any] = {
            "user_id": subs[row.user_id],
            "roles": [row.role],
            "status": row.status,
        }
        if tool.send_name:
            member["name"] = row.name
        if tool.send_email:
            member["email"] = row.email
        listed.append(member)
    container = {
        "id": urls.memberships_url(course_id),
        "context": {"id": str(course.id), "label": course.slug, "title": course.title},
        "members": listed,
    }
    return container, total
