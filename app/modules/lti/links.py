"""Resource links: a tool placed in a course as a section item of kind `lti` (managed by the
course's managers), with its optional AGS line item; and who may launch one."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.core.errors import NotFound, PermissionDenied
from app.core.pagination import PageParams, paginate_rows
from app.modules.courses import access as courses_access
from app.modules.courses import locks, sections
from app.modules.courses.access import CourseAccess
from app.modules.courses.models import ItemKind, SectionItem
from app.modules.lti import tools as tools_service
from app.modules.lti.models import LtiDeployment, LtiLineItem, LtiResourceLink, LtiTool
from app.modules.lti.schemas import LineItemSummary, LinkCreate, LinkRead, LinkUpdate
from app.modules.users.models import User


def launch_access(
    db: Session, *, course_id: uuid.UUID, link: LtiResourceLink | None, user: User
) -> CourseAccess:
    """The one rule for who may open an LTI link of a course: its managers, and students
    enrolled in it while the link is published and its item open by the release rule (403
    `item_locked` with the reasons otherwise). `link` is None for a deep linking launch,
    which needs a manager."""
    access = courses_access.course_access(db, course_id=course_id, user=user)
    if access.manager:
        return access
    if link is None or not access.enrolled:
        raise PermissionDenied("Enroll in the course to open this link", code="enrollment_required")
    if not link.is_published:
        raise NotFound("LTI link not found", code="lti_link_not_found")
    locks.require_open(db, user=user, kind=ItemKind.LTI, target_id=link.id)
    return access


def _read(
    link: LtiResourceLink,
    deployment: LtiDeployment,
    item: LtiLineItem | None,
    placed: SectionItem | None,
) -> LinkRead:
    return LinkRead(
        id=link.id,
        item_id=placed.id if placed else None,
        section_id=placed.section_id if placed else None,
        course_id=link.course_id,
        tool_id=link.tool_id,
        deployment_id=deployment.deployment_id,
        title=link.title,
        url=link.url,
        custom=link.custom,
        is_published=link.is_published,
        line_item=LineItemSummary.model_validate(item) if item else None,
        created_at=link.created_at,
        updated_at=link.updated_at,
    )


def _links_query(
    course_id: uuid.UUID,
) -> Select[LtiResourceLink, LtiDeployment, LtiLineItem, SectionItem]:
    # A link has at most one line item made with it (the one its creation or a deep linking
    # content item asked for): the oldest of the tool's items pointing at it.
    first_item = (
        select(LtiLineItem.id)
        .where(LtiLineItem.resource_link_id == LtiResourceLink.id)
        .order_by(LtiLineItem.created_at, LtiLineItem.id)
        .limit(1)
        .correlate(LtiResourceLink)
        .scalar_subquery()
    )
    return (
        select(LtiResourceLink, LtiDeployment, LtiLineItem, SectionItem)
        .join(LtiDeployment, LtiDeployment.id == LtiResourceLink.deployment_id)
        .outerjoin(LtiLineItem, LtiLineItem.id == first_item)
        .outerjoin(SectionItem, SectionItem.lti_link_id == LtiResourceLink.id)
        .where(LtiResourceLink.course_id == course_id)
    )


def create_link(
    db: Session,
    *,
    course_id: uuid.UUID,
    tool: LtiTool,
    deployment: LtiDeployment,
    title: str,
    url: str | None,
    custom: dict[str, str],
    line_item: tuple[Decimal, str | None] | None,
    section_id: uuid.UUID | None,
    is_published: bool = True,
) -> LinkRead:
    """A new link, placed at the end of `section_id` (or the course's last section). The
    caller has locked the course."""
    link = LtiResourceLink(
        course_id=course_id,
        tool_id=tool.id,
        deployment_id=deployment.id,
        title=title,
        url=url,
        custom=custom,
        is_published=is_published,
    )
    db.add(link)
    db.flush()
    placed = sections.place_item(
        db, course_id=course_id, kind=ItemKind.LTI, target_id=link.id, section_id=section_id
    )
    item = None
    if line_item is not None:
        score_maximum, label = line_item
        item = LtiLineItem(
            course_id=course_id,
            tool_id=tool.id,
            resource_link_id=link.id,
            label=label or title,
            # As the column stores it, so the answer reads the same as a later one.
            score_maximum=score_maximum.quantize(Decimal("0.0001")),
        )
        db.add(item)
        db.flush()
    return _read(link, deployment, item, placed)


def add_link(db: Session, *, course_id: uuid.UUID, user: User, data: LinkCreate) -> LinkRead:
    courses_access.get_owned_course(
        db,
        course_id=course_id,
        user=user,
        capability=courses_access.Capability.CONTENT,
        for_update=True,
    )
    tool = tools_service.get_tool(db, data.tool_id)
    deployment = tools_service.find_deployment(db, tool=tool, deployment_id=data.deployment_id)
    spec = data.line_item
    return create_link(
        db,
        course_id=course_id,
        tool=tool,
        deployment=deployment,
        title=data.title,
        url=str(data.url) if data.url else None,
        custom=data.custom,
        line_item=(spec.score_maximum, spec.label) if spec else None,
        section_id=data.section_id,
        is_published=data.is_published,
    )


def list_links(
    db: Session, *, course_id: uuid.UUID, user: User, params: PageParams
) -> tuple[list[LinkRead], int]:
    courses_access.get_owned_course(
        db, course_id=course_id, user=user, capability=courses_access.Capability.READ
    )
    statement = _links_query(course_id).order_by(LtiResourceLink.created_at, LtiResourceLink.id)
    rows, total = paginate_rows(db, statement, params)
    return [_read(*row) for row in rows], total


def find_link(
    db: Session, *, course_id: uuid.UUID, link_id: uuid.UUID
) -> tuple[LtiResourceLink, LtiDeployment, LtiLineItem | None, SectionItem | None]:
    row = db.execute(_links_query(course_id).where(LtiResourceLink.id == link_id)).first()
    if row is None:
        raise NotFound("LTI link not found", code="lti_link_not_found")
    return row[0], row[1], row[2], row[3]


def get_link(db: Session, *, course_id: uuid.UUID, link_id: uuid.UUID, user: User) -> LinkRead:
    courses_access.get_owned_course(
        db, course_id=course_id, user=user, capability=courses_access.Capability.READ
    )
    return _read(*find_link(db, course_id=course_id, link_id=link_id))


def update_link(
    db: Session, *, course_id: uuid.UUID, link_id: uuid.UUID, user: User, data: LinkUpdate
) -> LinkRead:
    courses_access.get_owned_course(
        db, course_id=course_id, user=user, capability=courses_access.Capability.CONTENT
    )
    link, deployment, item, placed = find_link(db, course_id=course_id, link_id=link_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("url") is not None:
        changes["url"] = str(changes["url"])
    for name, value in changes.items():
        setattr(link, name, value)
    db.flush()
    return _read(link, deployment, item, placed)


def delete_link(db: Session, *, course_id: uuid.UUID, link_id: uuid.UUID, user: User) -> None:
    courses_access.get_owned_course(
        db, course_id=course_id, user=user, capability=courses_access.Capability.CONTENT
    )
    link, *_rest = find_link(db, course_id=course_id, link_id=link_id)
    db.delete(link)
    db.flush()
