"""Auth request and response schemas."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.core.permissions import Role
from app.core.validation import Email, RequestModel
from app.modules.users.schemas import NewPassword, UserRead

# Long enough for any password the policy accepts (72 bytes) with room to report "too long"
# as a policy problem rather than a bare validation error.
_PASSWORD = Field(min_length=1, max_length=200)


class RegisterRequest(RequestModel):
    email: Email
    password: NewPassword
    full_name: str = Field(min_length=1, max_length=200)
    role: Role = Field(
        default=Role.STUDENT,
        description="student, or instructor when instructor sign-up is enabled; never admin",
    )
    invitation_token: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The token of a course invitation mailed to this email: the new student "
        "is enrolled at once (400 invitation_invalid if it is unknown, expired or used)",
    )


class LoginRequest(RequestModel):
    email: Email
    password: str = _PASSWORD


class TokenResponse(BaseModel):
    """Issued tokens. In cookie mode the tokens travel in HttpOnly cookies instead and the
    body carries the CSRF token to echo in the `X-CSRF-Token` header."""

    access_token: str | None = None
    refresh_token: str | None = None
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_expires_in: int = Field(description="Seconds until the refresh token expires")
    csrf_token: str | None = None


class MFAChallengeResponse(BaseModel):
    """Password accepted; finish with `POST /auth/login/mfa` and an authenticator code."""

    mfa_required: Literal[True] = True
    mfa_token: str
    expires_in: int


class RegisterResponse(BaseModel):
    user: UserRead
    tokens: TokenResponse | None = Field(
        description="None when the email must be verified before signing in"
    )


class MFALoginRequest(RequestModel):
    mfa_token: str = Field(min_length=1, max_length=2000)
    code: str = Field(
        min_length=6, max_length=32, description="6-digit authenticator code or a recovery code"
    )


class RefreshRequest(RequestModel):
    refresh_token: str | None = Field(
        default=None, max_length=2000, description="Omit in cookie mode: the cookie is used"
    )


class LogoutRequest(RefreshRequest):
    everywhere: bool = Field(default=False, description="End every session of the account")


class EmailRequest(RequestModel):
    email: Email


class ResetPasswordRequest(RequestModel):
    token: str = Field(min_length=1, max_length=200)
    new_password: NewPassword


class TokenConfirmRequest(RequestModel):
    token: str = Field(min_length=1, max_length=200)


class MFASetupResponse(BaseModel):
    secret: str
    otpauth_uri: str
    qr_code: str = Field(description="SVG data URI of the otpauth:// QR code")


class MFACodeRequest(RequestModel):
    code: str = Field(min_length=6, max_length=10, pattern=r"^\s*\d{6}\s*$")


class MFADisableRequest(RequestModel):
    password: str = _PASSWORD
    code: str = Field(min_length=6, max_length=32)


class RecoveryCodesResponse(BaseModel):
    recovery_codes: list[str] = Field(description="Shown once; each code works one time")


class MessageResponse(BaseModel):
    detail: str
