"""0018 places every existing LTI link in its course's last section (making one when the course
has none) and keeps the `sub` a tool has already scored a user by; on SQLite, rebuilding its
tables loses no line item, score or prerequisite (their rows cascade from the rebuilt ones)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app.core.registry import load_models
from app.modules.courses.models import (
    CourseSection,
    Lesson,
    ReleasePrerequisite,
    SectionItem,
)
from app.modules.lti.models import (
    LtiDeployment,
    LtiLineItem,
    LtiResourceLink,
    LtiScore,
    LtiSubject,
    LtiTool,
)
from app.modules.users.models import User
from tests.core.test_migrations import _config
from tests.modules.courses.factories import bare_course


def _columns(model: type[Any], *leaving: str) -> list[sa.Column[Any]]:
    return [column.copy() for column in model.__table__.columns if column.name not in leaving]


def _counts(engine: sa.Engine) -> tuple[int, ...]:
    """(line items, scores, prerequisites)."""
    tables = (LtiLineItem.__table__, LtiScore.__table__, ReleasePrerequisite.__table__)
    with engine.connect() as connection:
        return tuple(
            connection.scalar(sa.select(sa.func.count()).select_from(table)) or 0
            for table in tables
        )


def _links_become_items(url: str) -> None:
    load_models()
    config = _config(url)
    command.downgrade(config, "0018_random_status_indexes")
    engine = create_engine(url)
    # The tables as they stand at 0017.
    old = sa.MetaData()
    links = sa.Table("lti_resource_links", old, *_columns(LtiResourceLink, "is_published"))
    old_items = sa.Table("section_items", old, *_columns(SectionItem, "lti_link_id"))
    line_items = LtiLineItem.__table__
    scores = LtiScore.__table__
    now = datetime.now(UTC)
    stamps = {"created_at": now, "updated_at": now}
    with Session(engine) as db, db.begin():
        instructor = User(email=f"{uuid.uuid4().hex}@example.com", full_name="I", role="instructor")
        learner = User(email=f"{uuid.uuid4().hex}@example.com", full_name="L", role="student")
        db.add_all([instructor, learner])
        db.flush()
        sectioned = bare_course(db, instructor, sections=2)
        bare = bare_course(db, instructor, sections=0)
        tool = LtiTool(
            name="Old tool",
            client_id=uuid.uuid4().hex,
            oidc_initiation_url="https://tool.example/login",
            target_link_uri="https://tool.example/launch",
            redirect_uris=["https://tool.example/launch"],
            scopes=[],
            custom={},
        )
        db.add(tool)
        db.flush()
        deployment = LtiDeployment(tool_id=tool.id, deployment_id="1")
        db.add(deployment)
        db.flush()
        made = {}
        for course in (sectioned, sectioned, bare):
            link_id = uuid.uuid4()
            db.execute(
                links.insert().values(
                    id=link_id,
                    course_id=course.id,
                    tool_id=tool.id,
                    deployment_id=deployment.id,
                    title="Old link",
                    custom={},
                    **stamps,
                )
            )
            made.setdefault(course.id, []).append(link_id)
        item_id = uuid.uuid4()
        db.execute(
            line_items.insert().values(
                id=item_id,
                course_id=sectioned.id,
                tool_id=tool.id,
                resource_link_id=made[sectioned.id][0],
                label="Old",
                score_maximum=Decimal(10),
                **stamps,
            )
        )
        db.execute(
            scores.insert().values(
                id=uuid.uuid4(),
                line_item_id=item_id,
                user_id=learner.id,
                score_given=Decimal(5),
                score_maximum=Decimal(10),
                activity_progress="Completed",
                grading_progress="FullyGraded",
                timestamp=now,
                **stamps,
            )
        )
        # An item prerequisite between two lessons of the course.
        lessons = []
        for number in range(2):
            lesson = Lesson(course_id=sectioned.id, title=f"L{number}", slug=f"l{number}")
            db.add(lesson)
            db.flush()
            lessons.append(lesson.id)
        section_id = db.scalars(
            sa.select(CourseSection.id).where(CourseSection.course_id == sectioned.id)
        ).first()
        item_ids = [uuid.uuid4() for _ in lessons]
        for number, (item_id, lesson_id) in enumerate(zip(item_ids, lessons, strict=True)):
            db.execute(
                old_items.insert().values(
                    id=item_id,
                    section_id=section_id,
                    course_id=sectioned.id,
                    kind="lesson",
                    lesson_id=lesson_id,
                    position=number,
                    is_required=True,
                    **stamps,
                )
            )
        db.add(
            ReleasePrerequisite(
                course_id=sectioned.id, item_id=item_ids[1], required_item_id=item_ids[0]
            )
        )
        ids = (sectioned.id, bare.id, tool.id, learner.id)
    assert _counts(engine) == (1, 1, 1)
    try:
        command.upgrade(config, "head")
        sectioned_id, bare_id, tool_id, learner_id = ids
        items = SectionItem.__table__
        sections = CourseSection.__table__
        subjects = LtiSubject.__table__
        with engine.connect() as connection:
            placed = connection.execute(
                sa.select(items.c.course_id, sections.c.position, items.c.position, items.c.kind)
                .join(sections, sections.c.id == items.c.section_id)
                .where(items.c.lti_link_id.in_([i for v in made.values() for i in v]))
                .order_by(items.c.course_id, items.c.position)
            ).all()
            kept = connection.execute(
                sa.select(subjects.c.tool_id, subjects.c.user_id, subjects.c.sub)
            ).all()
            bare_sections = connection.scalar(
                sa.select(sa.func.count()).where(sections.c.course_id == bare_id)
            )
        # Two links at the end of the last section (position 1), one in a new section.
        assert sorted((row[0], row[1], row[2], row[3]) for row in placed) == sorted(
            [
                (sectioned_id, 1, 0, "lti"),
                (sectioned_id, 1, 1, "lti"),
                (bare_id, 0, 0, "lti"),
            ]
        )
        assert bare_sections == 1
        assert kept == [(tool_id, learner_id, str(learner_id))]
        assert _counts(engine) == (1, 1, 1)
        command.downgrade(config, "0018_random_status_indexes")
        assert _counts(engine) == (1, 1, 1)
    finally:
        command.upgrade(config, "head")
        engine.dispose()


def test_existing_links_become_items_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lti.db'}"
    command.upgrade(_config(url), "head")
    _links_become_items(url)


@pytest.mark.postgres
def test_existing_links_become_items_on_postgresql() -> None:
    _links_become_items(os.environ["DATABASE_URL"])
