"""Who a request's access token speaks for: the current user (loaded under the principal
rule, `app.modules.users.principal`), the principal alone for hot paths that check the rule in
their own statement, and the role and permission guards."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Uuid, literal, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.core.database import release_connection
from app.core.dependencies import DbSession, oauth2_scheme, token_from_request
from app.core.errors import PermissionDenied, Unauthorized
from app.core.permissions import Permission, Role, has_permission
from app.core.security import TokenType, decode_token
from app.modules.users.models import User
from app.modules.users.principal import Principal, principal_filter


def _principal(request: Request, claims: dict[str, Any]) -> Principal:
    try:
        user_id = uuid.UUID(claims["sub"])
    except ValueError as exc:
        raise Unauthorized("Token is invalid", code="token_invalid") from exc
    request.state.user_id = str(user_id)
    request.state.token_claims = claims
    return Principal(user_id, int(claims.get("ver", 0)), claims["jti"])


def load_principal_user(db: Session, principal: Principal) -> User:
    """The principal's user, refused unless `principal_filter` holds."""
    began = not db.in_transaction()
    user = db.scalar(
        select(User).where(
            User.id == principal.user_id,
            principal_filter(
                literal(principal.user_id, Uuid()),
                literal(principal.token_version),
                literal(principal.token_id),
            ),
        )
    )
    if user is None:
        # Only to word the refusal: inactive or gone, or else this token is stale.
        known = db.get(User, principal.user_id)
        inactive = known is None or not known.is_active
    if began:
        # End the read at once: the request now waits for its endpoint's worker thread, and
        # must not hold a pooled connection (or SQLite's lock) meanwhile, or enough waiting
        # requests would leave the threads that could serve them without a connection.
        release_connection(db)
    if user is None:
        if inactive:
            raise Unauthorized("User is inactive or no longer exists", code="user_inactive")
        raise Unauthorized("Token has been revoked", code="token_revoked")
    return user


def _load_user(request: Request, db: Session, token: str) -> User:
    claims = decode_token(token, expected_type=TokenType.ACCESS)
    return load_principal_user(db, _principal(request, claims))


# The guards below are async so FastAPI runs them on the event loop; only the user lookup,
# which needs the database, goes to a worker thread.
async def get_current_user(
    request: Request,
    db: DbSession,
    bearer: Annotated[str | None, Depends(oauth2_scheme)],
) -> User:
    token = token_from_request(request, bearer)
    if not token:
        raise Unauthorized("Not authenticated", code="not_authenticated")
    return await run_in_threadpool(_load_user, request, db, token)


async def get_principal(
    request: Request, bearer: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal:
    """The token's principal without any I/O, for hot paths whose one statement checks
    `principal_filter` itself."""
    token = token_from_request(request, bearer)
    if not token:
        raise Unauthorized("Not authenticated", code="not_authenticated")
    return _principal(request, decode_token(token, expected_type=TokenType.ACCESS))


async def get_optional_user(
    request: Request,
    db: DbSession,
    bearer: Annotated[str | None, Depends(oauth2_scheme)],
) -> User | None:
    """The user when a valid token is presented; None for anonymous requests.

    A token that is present but invalid is still refused, so a client learns it is stale.
    """
    token = token_from_request(request, bearer)
    if not token:
        return None
    return await run_in_threadpool(_load_user, request, db, token)


CurrentUser = Annotated[User, Depends(get_current_user)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]


def require_roles(*roles: Role) -> Callable[[User], Awaitable[User]]:
    allowed = {role.value for role in roles}

    async def _guard(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise PermissionDenied(
                f"This action requires one of the roles: {', '.join(sorted(allowed))}"
            )
        return user

    return _guard


def require_permissions(*permissions: Permission) -> Callable[[User], Awaitable[User]]:
    async def _guard(user: CurrentUser) -> User:
        missing = [p.value for p in permissions if not has_permission(user.role, p)]
        if missing:
            raise PermissionDenied(f"Missing permission: {', '.join(missing)}")
        return user

    return _guard


AdminUser = Annotated[User, Depends(require_roles(Role.ADMIN))]
InstructorUser = Annotated[User, Depends(require_roles(Role.INSTRUCTOR, Role.ADMIN))]
