"""What the gradebook and completion rules read from LTI: a course's line items as columns,
fully graded scores as cells, and the scores that start and complete an LTI item."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, literal, null, or_, select
from sqlalchemy.orm import Session

from app.modules.courses.models import Enrollment
from app.modules.courses.release import CompletionSelect
from app.modules.lti.claims import COMPLETED, FULLY_GRADED
from app.modules.lti.models import LtiLineItem, LtiScore


def line_item_columns(db: Session, course_id: uuid.UUID) -> list[Any]:
    """(id, label, score_maximum) of the course's line items, oldest first."""
    return list(
        db.execute(
            select(LtiLineItem.id, LtiLineItem.label, LtiLineItem.score_maximum)
            .where(LtiLineItem.course_id == course_id)
            .order_by(LtiLineItem.created_at, LtiLineItem.id)
        ).all()
    )


def graded_results(course_id: uuid.UUID) -> Select[uuid.UUID, uuid.UUID, Decimal | None, Decimal]:
    """(enrollment_id, item_id, earned, possible) for every fully graded score of the course,
    scaled to its line item's maximum."""
    return (
        select(
            Enrollment.id.label("enrollment_id"),
            LtiLineItem.id.label("item_id"),
            (LtiScore.score_given * LtiLineItem.score_maximum / LtiScore.score_maximum).label(
                "earned"
            ),
            LtiLineItem.score_maximum.label("possible"),
        )
        .join(LtiLineItem, LtiLineItem.id == LtiScore.line_item_id)
        .join(
            Enrollment,
            and_(
                Enrollment.student_id == LtiScore.user_id,
                Enrollment.course_id == LtiLineItem.course_id,
            ),
        )
        .where(
            LtiLineItem.course_id == course_id,
            LtiScore.grading_progress == FULLY_GRADED,
            LtiScore.score_given.is_not(None),
            LtiScore.score_maximum > 0,
        )
    )


def link_completions(student_id: ColumnElement[Any] | None) -> CompletionSelect:
    """The release rule's completion rows of LTI links: started by any score of a line item
    of the link, completed by a fully graded one (or one whose activity is Completed), with
    its percentage when graded; for one student or for all (None)."""
    graded = LtiScore.grading_progress == FULLY_GRADED
    percent = case(
        (
            and_(graded, LtiScore.score_given.is_not(None), LtiScore.score_maximum > 0),
            LtiScore.score_given * 100 / LtiScore.score_maximum,
        ),
        else_=null(),
    )
    statement = (
        select(
            LtiScore.user_id.label("student_id"),
            LtiLineItem.resource_link_id.label("target_id"),
            literal(True).label("started"),
            or_(graded, LtiScore.activity_progress == COMPLETED).label("completed"),
            percent.label("percent"),
        )
        .join(LtiLineItem, LtiLineItem.id == LtiScore.line_item_id)
        .where(LtiLineItem.resource_link_id.is_not(None))
    )
    if student_id is not None:
        statement = statement.where(LtiScore.user_id == student_id)
    return statement
