"""The rules enrollments hand to the modules they build on: when a course's published lessons
change, every enrollment's totals are refreshed in the same transaction; signing up with a
course invitation's token enrolls the new student in the sign-up's transaction."""

from __future__ import annotations

from app.modules.auth.service import accept_invitations_with
from app.modules.courses.service import on_published_lessons_changed
from app.modules.enrollments.managed import accept_invitation
from app.modules.enrollments.service import recalculate_course_progress

on_published_lessons_changed(
    lambda db, course_id: recalculate_course_progress(db, course_id=course_id)
)
accept_invitations_with(accept_invitation)
