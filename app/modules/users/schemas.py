"""User request and response schemas. No schema here exposes a password hash or MFA secret."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.core.permissions import Role
from app.core.validation import Email, RequestModel


def _web_url(value: str | None) -> str | None:
    # Only web links: a "javascript:" or "data:" avatar would run in whoever renders it.
    if value is not None and not value.lower().startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return value


WebUrl = Annotated[str | None, AfterValidator(_web_url)]


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


class ProfileUpdate(RequestModel):
    """Fields a user may change on their own account."""

    model_config = ConfigDict(extra="forbid")

    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    avatar_url: WebUrl = Field(default=None, max_length=1000)
    bio: str | None = Field(default=None, max_length=5000)
    email_opt_out: bool | None = None


class UserAdminUpdate(ProfileUpdate):
    """What an administrator may change on any account."""

    role: Role | None = None
    is_active: bool | None = None


class UserCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    password: str = Field(min_length=1, max_length=200)
    full_name: str = Field(min_length=1, max_length=200)
    role: Role = Role.STUDENT
    email_verified: bool = Field(
        default=False, description="Mark the email as verified (the admin vouches for it)"
    )
