"""User accounts: creation with the password policy, profiles, administration.

Accounts are deactivated, never deleted: their courses, payments and certificates keep an
owner. Deactivating bumps `token_version`, which kills every access and refresh token.
"""

from __future__ import annotations

import string
import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import utcnow
from app.core.errors import BusinessRuleViolation, Conflict, NotFound
from app.core.pagination import PageParams, paginate
from app.core.permissions import Role
from app.core.security import PASSWORD_MAX_BYTES, hash_password, password_too_long
from app.core.validation import valid_email
from app.modules.users import repository
from app.modules.users.models import User
from app.modules.users.schemas import ProfileUpdate, UserAdminUpdate


class UserNotFound(NotFound):
    code = "user_not_found"


def normalize_email(email: str) -> str:
    return email.strip().lower()


def password_problems(password: str, email: str) -> list[str]:
    """Every rule of the password policy that `password` breaks (empty when it is fine)."""
    problems: list[str] = []
    minimum = get_settings().PASSWORD_MIN_LENGTH
    if len(password) < minimum:
        problems.append(f"must be at least {minimum} characters long")
    if password_too_long(password):
        problems.append(f"must be at most {PASSWORD_MAX_BYTES} bytes long")
    classes = (
        any(c in string.ascii_lowercase for c in password),
        any(c in string.ascii_uppercase for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    )
    if sum(classes) < 2:
        problems.append("must mix at least two of: lower-case, upper-case, digits, symbols")
    normalized = password.strip().lower()
    email = normalize_email(email)
    if normalized in {email, email.split("@", 1)[0]}:
        problems.append("must not be your email address")
    return problems


def check_password_policy(password: str, email: str) -> None:
    problems = password_problems(password, email)
    if problems:
        raise BusinessRuleViolation(
            "Password is too weak: " + "; ".join(problems) + ".",
            code="weak_password",
            extra={"errors": [{"field": "password", "message": p} for p in problems]},
        )


def get_by_email(session: Session, email: str) -> User | None:
    return repository.get_by_email(session, normalize_email(email))


def get_user(session: Session, user_id: uuid.UUID) -> User:
    user = repository.get(session, user_id)
    if user is None:
        raise UserNotFound("User not found")
    return user


def get_visible_user(session: Session, *, viewer: User, user_id: uuid.UUID) -> User:
    """Admins see every account; anyone else only their own (others look absent)."""
    if viewer.role != Role.ADMIN and viewer.id != user_id:
        raise UserNotFound("User not found")
    return get_user(session, user_id)


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    full_name: str,
    role: Role,
    email_verified: bool = False,
) -> User:
    try:
        email = valid_email(email)
    except ValueError as exc:
        raise BusinessRuleViolation(str(exc), code="invalid_email") from None
    check_password_policy(password, email)
    if repository.get_by_email(session, email) is not None:
        raise Conflict("An account with this email already exists", code="email_taken")
    user = User(
        email=email,
        password_hash=hash_password(password),
        full_name=full_name.strip(),
        role=role.value,
        email_verified_at=utcnow() if email_verified else None,
    )
    session.add(user)
    try:
        # The unique index settles two simultaneous sign-ups with one email.
        session.flush()
    except IntegrityError as exc:
        raise Conflict("An account with this email already exists", code="email_taken") from exc
    return user


def claim_totp_step(session: Session, user: User, step: int) -> bool:
    """Mark a TOTP time step used; False when it (or a later one) already was."""
    return repository.claim_totp_step(session, user.id, step)


def set_password(session: Session, user: User, password: str) -> None:
    """Replace the password and end every session of the account."""
    check_password_policy(password, user.email)
    user.password_hash = hash_password(password)
    user.token_version += 1
    session.flush()


def list_users(
    session: Session,
    *,
    params: PageParams,
    role: Role | None = None,
    is_active: bool | None = None,
    search: str | None = None,
) -> tuple[list[User], int]:
    statement = repository.list_statement(
        role=role.value if role else None, is_active=is_active, search=search
    )
    return paginate(session, statement, params)


def update_profile(session: Session, user: User, data: ProfileUpdate) -> User:
    changes = data.model_dump(exclude_unset=True)
    for field, value in changes.items():
        setattr(user, field, value)
    session.flush()
    return user


def admin_update(
    session: Session, *, actor: User, user_id: uuid.UUID, data: UserAdminUpdate
) -> User:
    user = get_user(session, user_id)
    changes = data.model_dump(exclude_unset=True)
    role = changes.pop("role", None)
    is_active = changes.pop("is_active", None)
    if user.id == actor.id and ((role is not None and role != Role.ADMIN) or is_active is False):
        # Otherwise the last administrator could lock everyone out of administration.
        raise BusinessRuleViolation(
            "Administrators cannot demote or deactivate themselves", code="self_lockout"
        )
    update_profile(session, user, ProfileUpdate.model_validate(changes))
    if role is not None:
        user.role = Role(role).value
    if is_active is not None and is_active != user.is_active:
        user.is_active = is_active
        if not is_active:
            user.token_version += 1
    session.flush()
    return user


def deactivate(session: Session, *, actor: User, user_id: uuid.UUID) -> User:
    return admin_update(
        session, actor=actor, user_id=user_id, data=UserAdminUpdate(is_active=False)
    )
