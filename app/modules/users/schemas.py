"""User request and response schemas. No schema here exposes a password hash or MFA secret."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.core.permissions import Role
from app.core.schemas import WEB_URL_SCHEMA, PartialUpdate
from app.core.validation import Email, RequestModel


def _web_url(value: str | None) -> str | None:
    # Only web links: a "javascript:" or "data:" avatar would run in whoever renders it.
    if value is not None and not value.lower().startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return value


def _new_password_pattern() -> str:
    symbol = r"[!-/:-@\[-`{-~]"
    kinds = ("[a-z]", "[A-Z]", "[0-9]", symbol)
    pairs = [(a, b) for i, a in enumerate(kinds) for b in kinds[i + 1 :]]
    return "^(?:" + "|".join(f"(?=.*{a})(?=.*{b})" for a, b in pairs) + ")[ -~]{8,72}$"


# A new password, as the document describes it: printable ASCII, 8 to 72 characters (the
# policy counts bytes), at least two of lower-case, upper-case, digits, symbols. The policy
# (users.service.password_problems) decides, and also refuses the account's own email with a
# 422 weak_password; it accepts more than this (non-ASCII letters, spaces as symbols).
NewPassword = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        json_schema_extra={
            "pattern": _new_password_pattern(),
            "minLength": 8,
            "maxLength": 72,
            "description": "8 to 72 characters mixing at least two of: lower-case, "
            "upper-case, digits, symbols; not the account's email address",
        },
    ),
]

WebUrl = Annotated[str | None, AfterValidator(_web_url), Field(json_schema_extra=WEB_URL_SCHEMA)]


class UserBase(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class UserRead(UserBase):
    id: uuid.UUID
    email: str
    full_name: str
    role: Role
    is_active: bool
    email_verified_at: datetime | None
    last_login_at: datetime | None
    avatar_url: str | None
    bio: str | None
    mfa_enabled: bool
    email_opt_out: bool
    created_at: datetime
    updated_at: datetime


class ProfileUpdate(PartialUpdate):
    """Fields a user may change on their own account."""

    nullable = frozenset({"avatar_url", "bio"})

    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    avatar_url: WebUrl = Field(default=None, max_length=1000)
    bio: str | None = Field(default=None, max_length=5000)
    email_opt_out: bool | None = None


class UserAdminUpdate(ProfileUpdate):
    """What an administrator may change on any account."""

    role: Role | None = None
    is_active: bool | None = None


class UserCreate(RequestModel):
    email: Email
    password: NewPassword
    full_name: str = Field(min_length=1, max_length=200)
    role: Role = Role.STUDENT
    email_verified: bool = Field(
        default=False, description="Mark the email as verified (the admin vouches for it)"
    )
