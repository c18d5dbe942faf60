"""AGS 2.0: a course's line items (each owned by the tool that made it), the scores a tool
publishes and the results it reads back. Every call is checked by `tokens.service_caller`."""

from __future__ import annotations

import uuid

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.errors import BusinessRuleViolation, NotFound
from app.core.pagination import PageParams, paginate, paginate_rows
from app.modules.courses.models import ENROLLED_STATUSES, Enrollment
from app.modules.lti import subjects, urls
from app.modules.lti.ags_schemas import LineItemBody, LineItemJson, ResultJson, ScoreBody
from app.modules.lti.models import LtiLineItem, LtiResourceLink, LtiScore
from app.modules.lti.tokens import ServiceCaller


def line_item_json(item: LtiLineItem) -> LineItemJson:
    return LineItemJson(
        id=urls.line_item_url(item.course_id, item.id),
        scoreMaximum=float(item.score_maximum),
        label=item.label,
        resourceId=item.resource_id,
        tag=item.tag,
        resourceLinkId=str(item.resource_link_id) if item.resource_link_id else None,
        startDateTime=item.start_date_time,
        endDateTime=item.end_date_time,
    )


def _link_id(
    db: Session, caller: ServiceCaller, course_id: uuid.UUID, value: str | None
) -> uuid.UUID | None:
    """The tool's resource link `value` in the course, or refused."""
    if value is None:
        return None
    try:
        link_id = uuid.UUID(value)
    except ValueError:
        link_id = None
    found = link_id is not None and db.scalar(
        select(
            exists().where(
                LtiResourceLink.id == link_id,
                LtiResourceLink.course_id == course_id,
                LtiResourceLink.tool_id == caller.tool.id,
            )
        )
    )
    if not found:
        raise BusinessRuleViolation(
            "resourceLinkId is not a link of this tool in this context", code="lti_unknown_link"
        )
    return link_id


def list_line_items(
    db: Session,
    *,
    caller: ServiceCaller,
    course_id: uuid.UUID,
    params: PageParams,
    resource_link_id: str | None,
    resource_id: str | None,
    tag: str | None,
) -> tuple[list[LineItemJson], int]:
    statement = select(LtiLineItem).where(
        LtiLineItem.course_id == course_id, LtiLineItem.tool_id == caller.tool.id
    )
    if resource_link_id is not None:
        try:
            statement = statement.where(LtiLineItem.resource_link_id == uuid.UUID(resource_link_id))
        except ValueError:
            return [], 0
    if resource_id is not None:
        statement = statement.where(LtiLineItem.resource_id == resource_id)
    if tag is not None:
        statement = statement.where(LtiLineItem.tag == tag)
    items, total = paginate(db, statement.order_by(LtiLineItem.created_at, LtiLineItem.id), params)
    return [line_item_json(item) for item in items], total


def create_line_item(
    db: Session, *, caller: ServiceCaller, course_id: uuid.UUID, body: LineItemBody
) -> LineItemJson:
    item = LtiLineItem(
        course_id=course_id,
        tool_id=caller.tool.id,
        resource_link_id=_link_id(db, caller, course_id, body.resourceLinkId),
        label=body.label,
        score_maximum=body.scoreMaximum,
        resource_id=body.resourceId,
        tag=body.tag,
        start_date_time=body.startDateTime,
        end_date_time=body.endDateTime,
    )
    db.add(item)
    db.flush()
    return line_item_json(item)


def get_line_item(
    db: Session, *, caller: ServiceCaller, course_id: uuid.UUID, line_item_id: uuid.UUID
) -> LtiLineItem:
    item = db.get(LtiLineItem, line_item_id)
    if item is None or item.course_id != course_id or item.tool_id != caller.tool.id:
        raise NotFound("Line item not found", code="lti_line_item_not_found")
    return item


def update_line_item(
    db: Session,
    *,
    caller: ServiceCaller,
    course_id: uuid.UUID,
    line_item_id: uuid.UUID,
    body: LineItemBody,
) -> LineItemJson:
    item = get_line_item(db, caller=caller, course_id=course_id, line_item_id=line_item_id)
    item.resource_link_id = _link_id(db, caller, course_id, body.resourceLinkId)
    item.label = body.label
    item.score_maximum = body.scoreMaximum
    item.resource_id = body.resourceId
    item.tag = body.tag
    item.start_date_time = body.startDateTime
    item.end_date_time = body.endDateTime
    db.flush()
    return line_item_json(item)


def delete_line_item(
    db: Session, *, caller: ServiceCaller, course_id: uuid.UUID, line_item_id: uuid.UUID
) -> None:
    db.delete(get_line_item(db, caller=caller, course_id=course_id, line_item_id=line_item_id))
    db.flush()


def _enrolled_user(db: Session, caller: ServiceCaller, course_id: uuid.UUID, sub: str) -> uuid.UUID:
    """The student the tool knows as `sub` (its launches' and NRPS' id), enrolled here."""
    student_id = subjects.user_of(db, tool_id=caller.tool.id, sub=sub)
    enrolled = student_id is not None and db.scalar(
        select(
            exists().where(
                Enrollment.student_id == student_id,
                Enrollment.course_id == course_id,
                Enrollment.status.in_(ENROLLED_STATUSES),
            )
        )
    )
    if not enrolled or student_id is None:
        raise BusinessRuleViolation(
            "userId is not a student enrolled in this context", code="lti_user_not_enrolled"
        )
    return student_id


def _apply(row: LtiScore, body: ScoreBody) -> None:
    row.score_given = body.scoreGiven
    row.score_maximum = body.scoreMaximum
    row.activity_progress = body.activityProgress
    row.grading_progress = body.gradingProgress
    row.comment = body.comment
    row.timestamp = body.timestamp


def post_score(
    db: Session,
    *,
    caller: ServiceCaller,
    course_id: uuid.UUID,
    line_item_id: uuid.UUID,
    body: ScoreBody,
) -> bool:
    """Store the score as the user's result; False when an equal or newer one is stored (a
    score older than the stored one is ignored)."""
    item = get_line_item(db, caller=caller, course_id=course_id, line_item_id=line_item_id)
    user_id = _enrolled_user(db, caller, course_id, body.userId)
    statement = (
        select(LtiScore)
        .where(LtiScore.line_item_id == item.id, LtiScore.user_id == user_id)
        .with_for_update()
    )
    row = db.scalar(statement)
    if row is None:
        row = LtiScore(line_item_id=item.id, user_id=user_id)
        _apply(row, body)
        try:
            with db.begin_nested():
                db.add(row)
            return True
        except IntegrityError:
            # Another request stored this user's first score meanwhile: compare with it.
            row = db.scalar(statement)
            assert row is not None
    if body.timestamp < row.timestamp:
        return False
    _apply(row, body)
    db.flush()
    return True


def list_results(
    db: Session,
    *,
    caller: ServiceCaller,
    course_id: uuid.UUID,
    line_item_id: uuid.UUID,
    user_id: str | None,
    params: PageParams,
) -> tuple[list[ResultJson], int]:
    item = get_line_item(db, caller=caller, course_id=course_id, line_item_id=line_item_id)
    statement = select(LtiScore).where(LtiScore.line_item_id == item.id)
    if user_id is not None:
        student_id = subjects.user_of(db, tool_id=caller.tool.id, sub=user_id)
        if student_id is None:
            return [], 0
        statement = statement.where(LtiScore.user_id == student_id)
    rows, total = paginate_rows(db, statement.order_by(LtiScore.created_at, LtiScore.id), params)
    subs = subjects.subs_for(
        db, tool_id=caller.tool.id, user_ids=[score.user_id for (score,) in rows]
    )
    url = urls.line_item_url(course_id, item.id)
    results = []
    for (score,) in rows:
        result_score = None
        if score.score_given is not None and score.score_maximum:
            result_score = score.score_given * item.score_maximum / score.score_maximum
        sub = subs[score.user_id]
        results.append(
            ResultJson(
                id=f"{url}/results/{sub}",
                scoreOf=url,
                userId=sub,
                resultScore=float(round(result_score, 4)) if result_score is not None else None,
                resultMaximum=float(item.score_maximum),
                comment=score.comment,
            )
        )
    return results, total
