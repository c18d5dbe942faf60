"""Sign-up, sign-in (with lockout and the second factor), refresh-token rotation, sign-out,
password reset and email verification. Setting up and checking TOTP is `mfa.py`."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from app.core import lockout
from app.core.config import get_settings
from app.core.database import utcnow
from app.core.errors import (
    BadRequest,
    PermissionDenied,
    Unauthorized,
)
from app.core.permissions import Role
from app.core.security import (
    TokenType,
    create_access_token,
    create_refresh_token,
    create_token,
    decode_token,
    hash_token,
    new_opaque_token,
    verify_password,
)
from app.modules.auth import repository
from app.modules.auth.mfa import check_second_factor
from app.modules.notifications.service import queue_email
from app.modules.users import service as users_service
from app.modules.users.models import User

logger = logging.getLogger("app.auth")

PASSWORD_RESET = "password_reset"  # noqa: S105 - a token purpose, not a secret
EMAIL_VERIFICATION = "email_verification"


class RefreshTokenReused(Unauthorized):
    """A consumed refresh token came back: its family was revoked and that must be kept."""

    code = "refresh_token_reused"


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int


@dataclass(frozen=True)
class MFAChallenge:
    mfa_token: str
    expires_in: int


def _invalid_credentials() -> Unauthorized:
    return Unauthorized("Incorrect email or password", code="invalid_credentials")


# --- tokens ---------------------------------------------------------------------------------


def issue_tokens(
    session: Session, user: User, *, family_id: uuid.UUID | None = None
) -> IssuedTokens:
    settings = get_settings()
    access, access_claims = create_access_token(
        user_id=user.id, role=user.role, token_version=user.token_version
    )
    token_id = uuid.uuid4()
    family = family_id or uuid.uuid4()
    refresh, refresh_claims = create_refresh_token(
        user_id=user.id, token_id=token_id, family_id=family, token_version=user.token_version
    )
    now = utcnow()
    repository.add_refresh_token(
        session,
        token_id=token_id,
        user_id=user.id,
        family_id=family,
        token_hash=hash_token(refresh),
        expires_at=now + timedelta(days=settings.REFRESH_TOKEN_EXPIRE_DAYS),
    )
    return IssuedTokens(
        access_token=access,
        refresh_token=refresh,
        expires_in=access_claims["exp"] - access_claims["iat"],
        refresh_expires_in=refresh_claims["exp"] - refresh_claims["iat"],
    )


def delete_expired_tokens(session: Session, *, now: datetime) -> dict[str, int]:
    """Drop token rows that refuse nothing any more (past their expiry), counted per table."""
    return repository.delete_expired_tokens(session, now=now)


def end_all_sessions(session: Session, user: User) -> None:
    """Kill every access token (token_version) and refresh token of `user`."""
    user.token_version += 1
    repository.revoke_user_refresh_tokens(session, user.id)
    session.flush()


def refresh(session: Session, *, refresh_token: str) -> IssuedTokens:
    """Rotate: consume the presented token and issue the next one of its family."""
    claims = decode_token(refresh_token, expected_type=TokenType.REFRESH)
    row = repository.get_refresh_token(session, hash_token(refresh_token))
    if row is None or row.id.hex != claims["jti"]:
        raise Unauthorized("Refresh token is not recognised", code="token_invalid")
    if row.revoked_at is not None:
        raise Unauthorized("Refresh token has been revoked", code="token_revoked")
    if not repository.consume_refresh_token(session, row.id):
        # Only a copy of the token can come back after it was used: whoever holds the
        # family now may be an attacker, so every token of it dies.
        repository.revoke_family(session, row.family_id)
        session.flush()
        raise RefreshTokenReused(
            "Refresh token was already used; this session has been revoked for safety"
        )
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("User is inactive or no longer exists", code="user_inactive")
    if claims.get("ver") != user.token_version:
        raise Unauthorized("Refresh token has been revoked", code="token_revoked")
    return issue_tokens(session, user, family_id=row.family_id)


def logout(
    session: Session,
    *,
    user: User,
    access_claims: dict[str, Any],
    refresh_token: str | None,
    everywhere: bool,
) -> None:
    repository.revoke_access_token(
        session,
        jti=access_claims["jti"],
        user_id=user.id,
        expires_at=datetime.fromtimestamp(access_claims["exp"], UTC),
    )
    if everywhere:
        end_all_sessions(session, user)
        return
    if refresh_token:
        row = repository.get_refresh_token(session, hash_token(refresh_token))
        # Someone else's refresh token is ignored rather than revoked on their behalf.
        if row is not None and row.user_id == user.id:
            repository.revoke_family(session, row.family_id)
            session.flush()


# --- registration and sign-in ----------------------------------------------------------------


class AcceptInvitation(Protocol):
    def __call__(self, db: Session, *, user: User, token: str) -> None: ...


_invitations: list[AcceptInvitation] = []


def accept_invitations_with(rule: AcceptInvitation) -> None:
    """What signing up with an invitation token does (given by the enrollments module on
    import: it enrolls the new student in the sign-up's transaction, or refuses the token)."""
    _invitations[:] = [rule]


def register(
    session: Session,
    *,
    email: str,
    password: str,
    full_name: str,
    role: Role,
    invitation_token: str | None = None,
) -> tuple[User, IssuedTokens | None]:
    settings = get_settings()
    if role == Role.ADMIN:
        raise PermissionDenied(
            "Administrator accounts cannot be self-registered; an administrator creates them",
            code="role_not_allowed",
        )
    if role == Role.INSTRUCTOR and not settings.ALLOW_INSTRUCTOR_SIGNUP:
        raise PermissionDenied(
            "Instructor sign-up is disabled; register as a student", code="role_not_allowed"
        )
    user = users_service.create_user(
        session, email=email, password=password, full_name=full_name, role=role
    )
    if invitation_token is not None:
        if not _invitations:
            raise BadRequest("Invitations are not accepted here", code="invitation_invalid")
        _invitations[0](session, user=user, token=invitation_token)
    queue_email(
        session,
        to=user.email,
        template="welcome",
        context={"full_name": user.full_name},
        opted_out=user.email_opt_out,
    )
    if settings.REQUIRE_EMAIL_VERIFICATION:
        _send_verification(session, user)
        return user, None
    user.last_login_at = utcnow()
    return user, issue_tokens(session, user)


def login(session: Session, *, email: str, password: str, ip: str) -> IssuedTokens | MFAChallenge:
    """Check the password (same cost whether or not the email exists) under lockout."""
    settings = get_settings()
    lockout.ensure_address_allowed(ip)
    lockout.ensure_not_locked(email, ip)
    user = users_service.get_by_email(session, email)
    valid, new_hash = verify_password(password, user.password_hash if user else None)
    if user is None or not valid:
        lockout.register_failure(email, ip)
        raise _invalid_credentials()
    if not user.is_active:
        raise PermissionDenied("This account has been deactivated", code="account_inactive")
    if new_hash:
        user.password_hash = new_hash
    if settings.REQUIRE_EMAIL_VERIFICATION and user.email_verified_at is None:
        raise PermissionDenied(
            "Verify your email address before signing in", code="email_not_verified"
        )
    if user.mfa_enabled:
        # The lockout stays armed until the second factor is also right.
        minutes = settings.MFA_CHALLENGE_TOKEN_EXPIRE_MINUTES
        token, _claims = create_token(
            subject=str(user.id),
            token_type=TokenType.MFA_CHALLENGE,
            expires_in=timedelta(minutes=minutes),
            claims={"ver": user.token_version},
        )
        return MFAChallenge(mfa_token=token, expires_in=minutes * 60)
    lockout.reset(email, ip)
    user.last_login_at = utcnow()
    return issue_tokens(session, user)


def login_mfa(session: Session, *, mfa_token: str, code: str, ip: str) -> IssuedTokens:
    claims = decode_token(mfa_token, expected_type=TokenType.MFA_CHALLENGE)
    try:
        user = session.get(User, uuid.UUID(claims["sub"]))
    except ValueError as exc:
        raise Unauthorized("Token is invalid", code="token_invalid") from exc
    if (
        user is None
        or not user.is_active
        or not user.mfa_enabled
        or claims.get("ver") != user.token_version
    ):
        raise Unauthorized("MFA challenge is no longer valid", code="token_invalid")
    lockout.ensure_address_allowed(ip)
    lockout.ensure_not_locked(user.email, ip)
    if not check_second_factor(session, user, code):
        lockout.register_failure(user.email, ip)
        raise Unauthorized("The authentication code is not valid", code="invalid_mfa_code")
    lockout.reset(user.email, ip)
    user.last_login_at = utcnow()
    return issue_tokens(session, user)


# --- password reset and email verification ---------------------------------------------------


def _new_one_time_token(session: Session, user: User, *, purpose: str, lifetime: timedelta) -> str:
    token = new_opaque_token()
    repository.add_one_time_token(
        session,
        user_id=user.id,
        purpose=purpose,
        token_hash=hash_token(token),
        expires_at=utcnow() + lifetime,
    )
    return token


def _consume_one_time_token(session: Session, *, token: str, purpose: str) -> User:
    row = repository.get_one_time_token(session, token_hash=hash_token(token), purpose=purpose)
    if row is None or not repository.consume_one_time_token(session, row.id):
        raise BadRequest("The link is invalid, expired or already used", code="token_invalid")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise BadRequest("The link is invalid, expired or already used", code="token_invalid")
    return user


def _frontend_link(path: str, token: str) -> str:
    return f"{get_settings().FRONTEND_URL.rstrip('/')}/{path}?{urlencode({'token': token})}"


def forgot_password(session: Session, *, email: str) -> None:
    """Mail a reset link when the account exists; the caller answers 202 either way."""
    settings = get_settings()
    user = users_service.get_by_email(session, email)
    if user is None or not user.is_active:
        return
    minutes = settings.PASSWORD_RESET_TOKEN_EXPIRE_MINUTES
    token = _new_one_time_token(
        session, user, purpose=PASSWORD_RESET, lifetime=timedelta(minutes=minutes)
    )
    queue_email(
        session,
        to=user.email,
        template="password_reset",
        context={
            "full_name": user.full_name,
            "reset_url": _frontend_link("reset-password", token),
            "token": token,
            "expires_minutes": minutes,
        },
    )


def invite(session: Session, *, user_id: uuid.UUID, email: str, full_name: str) -> None:
    """Mail a new account without a password the link to choose one: a password-reset token
    (redeemed at `POST /auth/reset-password`) that lives `INVITATION_TOKEN_EXPIRE_HOURS`."""
    hours = get_settings().INVITATION_TOKEN_EXPIRE_HOURS
    token = new_opaque_token()
    repository.add_one_time_token(
        session,
        user_id=user_id,
        purpose=PASSWORD_RESET,
        token_hash=hash_token(token),
        expires_at=utcnow() + timedelta(hours=hours),
    )
    queue_email(
        session,
        to=email,
        template="invitation",
        context={
            "full_name": full_name,
            "email": email,
            "reset_url": _frontend_link("reset-password", token),
            "token": token,
            "expires_hours": hours,
        },
    )


def reset_password(session: Session, *, token: str, new_password: str) -> None:
    user = _consume_one_time_token(session, token=token, purpose=PASSWORD_RESET)
    users_service.set_password(session, user, new_password)
    repository.expire_one_time_tokens(session, user_id=user.id, purpose=PASSWORD_RESET)
    repository.revoke_user_refresh_tokens(session, user.id)
    # Whoever reads the mailbox owns the account: lift any lock on it.
    lockout.reset(user.email)


def _send_verification(session: Session, user: User) -> None:
    hours = get_settings().EMAIL_VERIFICATION_TOKEN_EXPIRE_HOURS
    token = _new_one_time_token(
        session, user, purpose=EMAIL_VERIFICATION, lifetime=timedelta(hours=hours)
    )
    queue_email(
        session,
        to=user.email,
        template="verify_email",
        context={
            "full_name": user.full_name,
            "verify_url": _frontend_link("verify-email", token),
            "token": token,
            "expires_hours": hours,
        },
    )


def request_email_verification(session: Session, *, email: str) -> None:
    user = users_service.get_by_email(session, email)
    if user is None or not user.is_active or user.email_verified_at is not None:
        return
    _send_verification(session, user)


def confirm_email(session: Session, *, token: str) -> User:
    user = _consume_one_time_token(session, token=token, purpose=EMAIL_VERIFICATION)
    user.email_verified_at = user.email_verified_at or utcnow()
    repository.expire_one_time_tokens(session, user_id=user.id, purpose=EMAIL_VERIFICATION)
    session.flush()
    return user
