"""`/users`: the caller's profile and account administration."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, status

from app.core.dependencies import DbSession
from app.core.pagination import Page, Pagination
from app.core.permissions import Role
from app.core.routing import APIRouter
from app.modules.users import service
from app.modules.users.dependencies import AdminUser, CurrentUser
from app.modules.users.schemas import ProfileUpdate, UserAdminUpdate, UserCreate, UserRead

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=Page[UserRead])
def list_users(
    db: DbSession,
    _admin: AdminUser,
    params: Pagination,
    role: Role | None = None,
    is_active: bool | None = None,
    search: Annotated[
        str | None, Query(max_length=200, description="Part of the email or name")
    ] = None,
) -> Page[UserRead]:
    """List accounts (admin), filtered by role and state, searched by email or name."""
    items, total = service.list_users(
        db, params=params, role=role, is_active=is_active, search=search
    )
    return Page[UserRead].build(items, total, params)


@router.post("", response_model=UserRead, status_code=status.HTTP_201_CREATED)
def create_user(payload: UserCreate, db: DbSession, _admin: AdminUser) -> UserRead:
    """Create an account of any role (admin)."""
    user = service.create_user(
        db,
        email=payload.email,
        password=payload.password,
        full_name=payload.full_name,
        role=payload.role,
        email_verified=payload.email_verified,
    )
    return UserRead.model_validate(user)


@router.get("/me", response_model=UserRead)
def read_me(user: CurrentUser) -> UserRead:
    """The signed-in user's account."""
    return UserRead.model_validate(user)


@router.patch("/me", response_model=UserRead)
def update_me(payload: ProfileUpdate, db: DbSession, user: CurrentUser) -> UserRead:
    """Change the signed-in user's profile (name, avatar, bio, email preferences)."""
    return UserRead.model_validate(service.update_profile(db, user, payload))


@router.get("/{user_id}", response_model=UserRead)
def read_user(user_id: uuid.UUID, db: DbSession, viewer: CurrentUser) -> UserRead:
    """One account: admins read any, other users only their own."""
    return UserRead.model_validate(service.get_visible_user(db, viewer=viewer, user_id=user_id))


@router.patch("/{user_id}", response_model=UserRead)
def update_user(
    user_id: uuid.UUID, payload: UserAdminUpdate, db: DbSession, admin: AdminUser
) -> UserRead:
    """Change an account's role, active state or profile (admin)."""
    user = service.admin_update(db, actor=admin, user_id=user_id, data=payload)
    return UserRead.model_validate(user)


@router.delete("/{user_id}", response_model=UserRead)
def deactivate_user(user_id: uuid.UUID, db: DbSession, admin: AdminUser) -> UserRead:
    """Deactivate an account (admin); accounts are never hard-deleted."""
    return UserRead.model_validate(service.deactivate(db, actor=admin, user_id=user_id))
