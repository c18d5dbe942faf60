"""Multi-factor authentication: setting up, confirming and disabling TOTP, and checking a
second factor (an authenticator code, used once per step, or a recovery code) at sign-in."""

from __future__ import annotations

import logging
import secrets

import pyotp
import segno
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import utcnow
from app.core.errors import BadRequest, Conflict, PermissionDenied, ServiceUnavailable
from app.core.security import UnreadableSecret, hash_token, tokens_equal, verify_password
from app.modules.auth import repository
from app.modules.notifications.service import queue_email
from app.modules.users import service as users_service
from app.modules.users.models import User

logger = logging.getLogger("app.auth")

RECOVERY_CODE_COUNT = 10
# No 0/o/1/l/i: recovery codes are typed from paper.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_TOTP_WINDOW = (0, -1, 1)  # accept the previous and next 30 s step for clock drift


class MFAUnavailable(ServiceUnavailable):
    """The stored TOTP secret cannot be decrypted with the configured keys."""

    code = "mfa_unavailable"


def _normalize_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _totp_secret(user: User) -> str | None:
    """The user's TOTP secret; one no configured key opens fails closed (no code is accepted,
    recovery codes still are) and tells operators which setting to look at."""
    try:
        return user.mfa_secret
    except UnreadableSecret as exc:
        logger.error(
            "TOTP secret of user %s cannot be decrypted with MFA_SECRET_ENCRYPTION_KEYS "
            "(key removed or replaced?)",
            user.id,
        )
        raise MFAUnavailable(
            "Authenticator codes cannot be verified because of a server problem; "
            "recovery codes still work"
        ) from exc


def _verify_totp(session: Session, user: User, code: str) -> bool:
    """Accept a code of the current (or adjacent) step once: the step is recorded so the same
    code cannot be replayed while it is still valid."""
    if not code.isdigit() or len(code) != 6:
        return False
    secret = _totp_secret(user)
    if secret is None:
        return False
    totp = pyotp.TOTP(secret)
    current = totp.timecode(utcnow())
    for offset in _TOTP_WINDOW:
        step = current + offset
        if tokens_equal(totp.generate_otp(step), code):
            return users_service.claim_totp_step(session, user, step)
    return False


def check_second_factor(session: Session, user: User, code: str) -> bool:
    normalized = _normalize_code(code)
    if normalized.isdigit() and len(normalized) == 6:
        return _verify_totp(session, user, normalized)
    used = repository.consume_recovery_code(
        session, user_id=user.id, code_hash=hash_token(normalized)
    )
    if used:
        queue_email(
            session,
            to=user.email,
            template="mfa_recovery_code_used",
            context={
                "full_name": user.full_name,
                "remaining": repository.count_unused_recovery_codes(session, user.id),
            },
        )
    return used


def mfa_begin(session: Session, user: User) -> tuple[str, str, str]:
    """A new pending secret: (secret, otpauth URI, QR code as an SVG data URI)."""
    if user.mfa_enabled:
        raise Conflict("MFA is already enabled; disable it first", code="mfa_already_enabled")
    secret = pyotp.random_base32()
    user.mfa_secret = secret
    user.mfa_last_used_step = None
    session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=user.email, issuer_name=get_settings().MFA_ISSUER
    )
    qr = segno.make(uri, error="m").svg_data_uri(scale=4)
    return secret, uri, qr


def mfa_confirm(session: Session, user: User, *, code: str) -> list[str]:
    if user.mfa_enabled:
        raise Conflict("MFA is already enabled", code="mfa_already_enabled")
    if user.mfa_secret_ciphertext is None:
        raise Conflict("Request MFA setup first", code="mfa_not_requested")
    if not _verify_totp(session, user, _normalize_code(code)):
        raise BadRequest("The authentication code is not valid", code="invalid_mfa_code")
    codes = [
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    repository.replace_recovery_codes(
        session, user_id=user.id, code_hashes=[hash_token(c) for c in codes]
    )
    user.mfa_enabled = True
    session.flush()
    queue_email(
        session, to=user.email, template="mfa_enabled", context={"full_name": user.full_name}
    )
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def mfa_disable(session: Session, user: User, *, password: str, code: str) -> None:
    if not user.mfa_enabled:
        raise Conflict("MFA is not enabled", code="mfa_not_enabled")
    valid, _new_hash = verify_password(password, user.password_hash)
    if not valid or not check_second_factor(session, user, code):
        raise PermissionDenied(
            "Password or authentication code is incorrect", code="invalid_credentials"
        )
    user.mfa_enabled = False
    user.mfa_secret = None
    user.mfa_last_used_step = None
    repository.delete_recovery_codes(session, user.id)
    session.flush()
    queue_email(
        session, to=user.email, template="mfa_disabled", context={"full_name": user.full_name}
    )
