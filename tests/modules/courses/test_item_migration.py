"""0021 puts content found outside every section back into the structure: at the end of its
course's last section, or of a new published section for a course that has none."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app.core.registry import load_models
from app.modules.courses.models import Course, CourseSection, Lesson, SectionItem
from app.modules.quizzes.models import Quiz
from app.modules.users.models import User
from tests.core.test_migrations import _config
from tests.modules.courses.factories import bare_course

BEFORE = "0020_outline_lesson_files"


def _lesson(db: Session, course: Course, title: str) -> uuid.UUID:
    lesson = Lesson(course_id=course.id, title=title, slug=title.lower(), is_published=True)
    db.add(lesson)
    db.flush()
    return lesson.id


def _orphans_are_placed(url: str) -> None:
    load_models()
    config = _config(url)
    command.downgrade(config, BEFORE)
    engine = create_engine(url)
    try:
        with Session(engine) as db, db.begin():
            instructor = User(
                email=f"{uuid.uuid4().hex}@example.com", full_name="I", role="instructor"
            )
            db.add(instructor)
            db.flush()
            sectioned = bare_course(db, instructor, sections=2)
            bare = bare_course(db, instructor, sections=0)
            placed_lesson = _lesson(db, sectioned, "Placed")
            last = db.scalars(
                sa.select(CourseSection.id).where(
                    CourseSection.course_id == sectioned.id, CourseSection.position == 1
                )
            ).one()
            db.add(
                SectionItem(
                    course_id=sectioned.id,
                    section_id=last,
                    kind="lesson",
                    lesson_id=placed_lesson,
                    position=0,
                    is_required=False,
                )
            )
            orphan_lesson = _lesson(db, sectioned, "Orphan")
            quiz = Quiz(course_id=sectioned.id, title="Orphan quiz")
            db.add(quiz)
            db.flush()
            bare_lesson = _lesson(db, bare, "Bare")
            ids = (sectioned.id, bare.id, last, placed_lesson, orphan_lesson, quiz.id, bare_lesson)
        command.upgrade(config, "head")
        sectioned_id, bare_id, last, placed_lesson, orphan_lesson, quiz_id, bare_lesson = ids
        items = SectionItem.__table__
        sections = CourseSection.__table__
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(
                    items.c.course_id,
                    items.c.section_id,
                    items.c.position,
                    items.c.kind,
                    sa.func.coalesce(items.c.lesson_id, items.c.quiz_id),
                    items.c.is_required,
                )
                .where(items.c.course_id.in_([sectioned_id, bare_id]))
                .order_by(items.c.course_id, items.c.section_id, items.c.position)
            ).all()
            bare_section = connection.execute(
                sa.select(sections.c.id, sections.c.is_published).where(
                    sections.c.course_id == bare_id
                )
            ).one()
        assert sorted(rows) == sorted(
            [
                # The placed lesson keeps its place and its setting; the orphans follow it.
                (sectioned_id, last, 0, "lesson", placed_lesson, False),
                (sectioned_id, last, 1, "lesson", orphan_lesson, True),
                (sectioned_id, last, 2, "quiz", quiz_id, True),
                (bare_id, bare_section[0], 0, "lesson", bare_lesson, True),
            ]
        )
        assert bare_section[1] is True
    finally:
        command.upgrade(config, "head")
        engine.dispose()


def test_content_outside_every_section_is_placed_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'items.db'}"
    command.upgrade(_config(url), "head")
    _orphans_are_placed(url)


@pytest.mark.postgres
def test_content_outside_every_section_is_placed_on_postgresql() -> None:
    _orphans_are_placed(os.environ["DATABASE_URL"])
