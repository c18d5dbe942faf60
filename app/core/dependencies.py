"""Typed FastAPI dependencies of the platform: the database session, the authentication
cookies and their CSRF check, and the token a request presents. Who the token speaks for (the
current user, role and permission guards) is `app.modules.users.dependencies`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from app.core.database import get_db
from app.core.errors import PermissionDenied
from app.core.security import tokens_equal

# scope="function": commit (or roll back) before the response is sent, so a client never
# sees success for a transaction that then failed to commit.
DbSession = Annotated[Session, Depends(get_db, scope="function")]

ACCESS_COOKIE = "lms_access_token"
REFRESH_COOKIE = "lms_refresh_token"
# Readable by the page's JavaScript (not HttpOnly), which echoes it in CSRF_HEADER: another
# site can make the browser send the cookies but cannot read this value.
CSRF_COOKIE = "lms_csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def verify_csrf(request: Request) -> None:
    """Double-submit check for requests authenticated by a cookie."""
    if request.method in SAFE_METHODS:
        return
    cookie = request.cookies.get(CSRF_COOKIE)
    header = request.headers.get(CSRF_HEADER)
    if not cookie or not header or not tokens_equal(cookie, header):
        raise PermissionDenied(
            f"Missing or invalid {CSRF_HEADER} header for cookie authentication",
            code="csrf_failed",
        )


def token_from_request(request: Request, bearer: str | None) -> str | None:
    """A bearer header wins (API clients); otherwise the access cookie (browsers), which
    needs the CSRF header on unsafe methods because browsers attach cookies by themselves."""
    if bearer:
        return bearer
    token = request.cookies.get(ACCESS_COOKIE)
    if token:
        verify_csrf(request)
    return token
