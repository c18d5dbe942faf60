"""Roles and the permission map (role -> permissions)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    INSTRUCTOR = "instructor"
    STUDENT = "student"


class Permission(StrEnum):
    CREATE_COURSE = "course:create"
    UPDATE_COURSE = "course:update"
    DELETE_COURSE = "course:delete"
    PUBLISH_COURSE = "course:publish"
    VIEW_ANALYTICS = "analytics:view"
    VIEW_SYSTEM_ANALYTICS = "analytics:system"
    MANAGE_ENROLLMENTS = "enrollments:manage"
    ENROLL = "enrollments:create"
    MANAGE_QUIZZES = "quizzes:manage"
    ATTEMPT_QUIZ = "quizzes:attempt"
    MANAGE_ASSIGNMENTS = "assignments:manage"
    SUBMIT_ASSIGNMENT = "assignments:submit"
    GRADE = "grades:manage"
    ISSUE_CERTIFICATE = "certificates:issue"
    UPLOAD_FILE = "files:upload"
    MANAGE_USERS = "users:manage"
    MANAGE_PAYMENTS = "payments:manage"
    MANAGE_WEBHOOKS = "webhooks:manage"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.INSTRUCTOR: frozenset(
        {
            Permission.CREATE_COURSE,
            Permission.UPDATE_COURSE,
            Permission.DELETE_COURSE,
            Permission.PUBLISH_COURSE,
            Permission.VIEW_ANALYTICS,
            Permission.MANAGE_ENROLLMENTS,
            Permission.MANAGE_QUIZZES,
            Permission.MANAGE_ASSIGNMENTS,
            Permission.GRADE,
            Permission.ISSUE_CERTIFICATE,
            Permission.UPLOAD_FILE,
        }
    ),
    Role.STUDENT: frozenset(
        {
            Permission.ENROLL,
            Permission.ATTEMPT_QUIZ,
            Permission.SUBMIT_ASSIGNMENT,
            Permission.UPLOAD_FILE,
        }
    ),
}


def has_permission(role: str, permission: Permission) -> bool:
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False
