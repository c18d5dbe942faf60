"""Firebase sign-in: a verified Firebase ID token is exchanged for this API's own tokens.

The account is matched by email, which Firebase must have verified (otherwise anyone could
claim an address). An unknown email creates a student account, as self-registration does; it
gets a random password nobody knows (the owner can set one with forgot-password). Accounts
with MFA enabled must sign in with their password and code: a Firebase token is one factor.
"""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from app.core.database import utcnow
from app.core.errors import PermissionDenied, Unauthorized
from app.core.firebase import verify_id_token
from app.core.permissions import Role
from app.modules.auth.service import IssuedTokens, issue_tokens
from app.modules.users import service as users_service


def sign_in(session: Session, *, id_token: str) -> IssuedTokens:
    identity = verify_id_token(id_token)
    if not identity.email or not identity.email_verified:
        raise Unauthorized(
            "The Firebase account has no verified email address",
            code="firebase_email_unverified",
        )
    user = users_service.get_by_email(session, identity.email)
    if user is None:
        user = users_service.create_user(
            session,
            email=identity.email,
            # Random upper/lower/digits/symbols: passes the policy, known to nobody.
            password=secrets.token_urlsafe(32) + "-Aa1",
            full_name=(identity.name or identity.email.split("@", 1)[0])[:200],
            role=Role.STUDENT,
            email_verified=True,
        )
    if not user.is_active:
        raise PermissionDenied("This account has been deactivated", code="account_inactive")
    if user.mfa_enabled:
        raise PermissionDenied(
            "MFA is enabled on this account: sign in with your password and code",
            code="mfa_required",
        )
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    user.last_login_at = utcnow()
    return issue_tokens(session, user)
