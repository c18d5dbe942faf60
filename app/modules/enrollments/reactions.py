"""The rules enrollments hand to the modules they build on: when a course's published lessons
change, every enrollment's totals are refreshed in the same transaction."""

from __future__ import annotations

from app.modules.courses.service import on_published_lessons_changed
from app.modules.enrollments.service import recalculate_course_progress

on_published_lessons_changed(
    lambda db, course_id: recalculate_course_progress(db, course_id=course_id)
)
