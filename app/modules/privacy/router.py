"""`/users/.../export`, `/users/.../exports[/...]` and `/users/{id}/erase`: a person's data
export, and erasure. They live here rather than in the users module because they read every
module's tables; the paths stay under `/users`."""

from __future__ import annotations

import uuid

from fastapi import status

from app.core.dependencies import DbSession
from app.core.errors import problem
from app.core.pagination import Page, PageParams, Pagination
from app.core.routing import APIRouter
from app.modules.privacy import service
from app.modules.privacy.schemas import ErasureRead, ErasureRequest, ExportRead
from app.modules.users.dependencies import AdminUser, CurrentUser

router = APIRouter(prefix="/users", tags=["privacy"])


def _read(view: service.ExportView) -> ExportRead:
    return ExportRead.model_validate(view.export).model_copy(
        update={
            "download_url": view.download_url,
            "download_expires_at": view.download_expires_at,
        }
    )


@router.post("/me/export", response_model=ExportRead, status_code=status.HTTP_202_ACCEPTED)
def export_me(db: DbSession, user: CurrentUser) -> ExportRead:
    """Start an export of everything held about me (a zip of JSON files and my uploads)."""
    return _read(service.start_export(db, user_id=user.id, requested_by=user))


def _page(views: list[service.ExportView], total: int, params: PageParams) -> Page[ExportRead]:
    return Page[ExportRead].build([_read(view) for view in views], total, params)


@router.get("/me/exports", response_model=Page[ExportRead])
def list_my_exports(db: DbSession, user: CurrentUser, params: Pagination) -> Page[ExportRead]:
    """My exports, newest first; a ready one comes with a fresh signed download link."""
    views, total = service.list_exports(db, user_id=user.id, viewer=user, params=params)
    return _page(views, total, params)


@router.get(
    "/me/exports/{export_id}",
    response_model=ExportRead,
    responses=problem(404, "No such export of mine"),
)
def read_my_export(export_id: uuid.UUID, db: DbSession, user: CurrentUser) -> ExportRead:
    """One of my exports: its status and, when ready, a signed download link."""
    return _read(service.get_export(db, user_id=user.id, export_id=export_id, viewer=user))


@router.post(
    "/{user_id}/export",
    response_model=ExportRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem(404, "No such user"),
)
def export_user(user_id: uuid.UUID, db: DbSession, admin: AdminUser) -> ExportRead:
    """Start an export of any account's data (admin)."""
    return _read(service.start_export(db, user_id=user_id, requested_by=admin))


@router.get(
    "/{user_id}/exports",
    response_model=Page[ExportRead],
    responses=problem(404, "No such user"),
)
def list_user_exports(
    user_id: uuid.UUID, db: DbSession, admin: AdminUser, params: Pagination
) -> Page[ExportRead]:
    """An account's exports, newest first, with fresh download links for ready ones (admin)."""
    views, total = service.list_exports(db, user_id=user_id, viewer=admin, params=params)
    return _page(views, total, params)


@router.get(
    "/{user_id}/exports/{export_id}",
    response_model=ExportRead,
    responses=problem(404, "No such export of this user"),
)
def read_user_export(
    user_id: uuid.UUID, export_id: uuid.UUID, db: DbSession, admin: AdminUser
) -> ExportRead:
    """An export of an account: status and, when ready, a signed download link (admin)."""
    return _read(service.get_export(db, user_id=user_id, export_id=export_id, viewer=admin))


@router.post(
    "/{user_id}/erase",
    response_model=ErasureRead,
    responses=problem(404, "No such user")
    | problem(422, "An administrator cannot erase their own account"),
)
def erase_user(
    user_id: uuid.UUID, payload: ErasureRequest, db: DbSession, admin: AdminUser
) -> ErasureRead:
    """Erase a person's personal data and close the account for good (admin; idempotent)."""
    record = service.erase_user(db, admin=admin, user_id=user_id, reason=payload.reason)
    return ErasureRead.model_validate(record)
