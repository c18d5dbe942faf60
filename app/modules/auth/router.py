"""`/auth`: registration, sign-in, tokens, password and email flows, MFA.

With `AUTH_COOKIE_MODE=true` the sign-in, refresh and sign-out routes move the tokens into
HttpOnly cookies (plus a readable CSRF cookie) instead of the JSON body. `/auth/token`
always answers in the body: it is the OAuth2 password flow for API clients and Swagger.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import Depends, Request, Response, status
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm

from app.core.config import get_settings
from app.core.dependencies import ACCESS_COOKIE, CSRF_COOKIE, REFRESH_COOKIE, DbSession, verify_csrf
from app.core.errors import (
    BadRequest,
    DomainError,
    PermissionDenied,
    problem,
    problem_response,
)
from app.core.ratelimit import client_ip
from app.core.routing import APIRouter
from app.modules.auth import mfa, service
from app.modules.auth.schemas import (
    EmailRequest,
    LoginRequest,
    LogoutRequest,
    MessageResponse,
    MFAChallengeResponse,
    MFACodeRequest,
    MFADisableRequest,
    MFALoginRequest,
    MFASetupResponse,
    RecoveryCodesResponse,
    RefreshRequest,
    RegisterRequest,
    RegisterResponse,
    ResetPasswordRequest,
    TokenConfirmRequest,
    TokenResponse,
)
from app.modules.users.dependencies import CurrentUser
from app.modules.users.schemas import UserRead

router = APIRouter(prefix="/auth", tags=["auth"])

# Routes that check an authenticator code need the stored TOTP secret to decrypt.
_TOTP_UNAVAILABLE = problem(503, "Authenticator codes cannot be checked (a server problem)")
_INVALID_LINK = problem(400, "The link's token is invalid, expired or already used")
_LOCKED = problem(423, "Too many failed sign-ins: the account is locked; see Retry-After")

_ACCEPTED = MessageResponse(detail="If the account exists, an email is on its way.")


# --- cookie transport ---------------------------------------------------------------------


def _cookie_args() -> dict[str, Any]:
    settings = get_settings()
    return {
        "secure": settings.cookie_secure,
        "samesite": settings.AUTH_COOKIE_SAMESITE,
        "domain": settings.AUTH_COOKIE_DOMAIN,
    }


def _token_response(response: Response, tokens: service.IssuedTokens) -> TokenResponse:
    body = TokenResponse(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
        refresh_expires_in=tokens.refresh_expires_in,
    )
    if not get_settings().AUTH_COOKIE_MODE:
        return body
    args = _cookie_args()
    prefix = get_settings().API_V1_PREFIX
    response.set_cookie(
        ACCESS_COOKIE, tokens.access_token, max_age=tokens.expires_in, httponly=True, **args
    )
    # The refresh token only ever travels to the auth routes.
    response.set_cookie(
        REFRESH_COOKIE,
        tokens.refresh_token,
        max_age=tokens.refresh_expires_in,
        httponly=True,
        path=f"{prefix}/auth",
        **args,
    )
    csrf = secrets.token_urlsafe(32)
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=tokens.refresh_expires_in, httponly=False, **args
    )
    return body.model_copy(update={"access_token": None, "refresh_token": None, "csrf_token": csrf})


def _clear_cookies(response: Response) -> None:
    args = _cookie_args()
    prefix = get_settings().API_V1_PREFIX
    response.delete_cookie(ACCESS_COOKIE, httponly=True, **args)
    response.delete_cookie(REFRESH_COOKIE, httponly=True, path=f"{prefix}/auth", **args)
    response.delete_cookie(CSRF_COOKIE, httponly=False, **args)


def _refresh_token(request: Request, given: str | None) -> str | None:
    if given:
        return given
    cookie = request.cookies.get(REFRESH_COOKIE)
    if cookie:
        verify_csrf(request)
    return cookie


def _problem(request: Request, exc: DomainError) -> JSONResponse:
    return problem_response(
        request,
        status=exc.status_code,
        title=exc.title,
        detail=exc.detail,
        code=exc.code,
        headers=exc.headers,
        extra=exc.extra,
    )


# --- routes ---------------------------------------------------------------------------------


@router.post("/register", response_model=RegisterResponse, status_code=status.HTTP_201_CREATED)
def register(payload: RegisterRequest, response: Response, db: DbSession) -> RegisterResponse:
    """Create a student (or, when enabled, instructor) account and sign it in."""
    user, tokens = service.register(
        db,
        email=payload.email,
        password=payload.password,
        full_name=payload.full_name,
        role=payload.role,
        invitation_token=payload.invitation_token,
    )
    return RegisterResponse(
        user=UserRead.model_validate(user),
        tokens=_token_response(response, tokens) if tokens else None,
    )


def _login_answer(
    response: Response, result: service.IssuedTokens | service.MFAChallenge
) -> TokenResponse | MFAChallengeResponse:
    if isinstance(result, service.MFAChallenge):
        return MFAChallengeResponse(mfa_token=result.mfa_token, expires_in=result.expires_in)
    return _token_response(response, result)


@router.post("/login", response_model=TokenResponse | MFAChallengeResponse, responses=_LOCKED)
def login(
    payload: LoginRequest, request: Request, response: Response, db: DbSession
) -> TokenResponse | MFAChallengeResponse:
    """Sign in with email and password; answers an MFA challenge when MFA is on."""
    result = service.login(
        db, email=payload.email, password=payload.password, ip=client_ip(request)
    )
    return _login_answer(response, result)


@router.post("/token", response_model=TokenResponse, responses=_LOCKED)
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, db: DbSession
) -> TokenResponse:
    """OAuth2 password flow (form fields username, password) for API clients and Swagger."""
    result = service.login(db, email=form.username, password=form.password, ip=client_ip(request))
    if isinstance(result, service.MFAChallenge):
        raise PermissionDenied(
            "MFA is enabled: finish with POST /auth/login/mfa and the mfa_token",
            code="mfa_required",
            extra={"mfa_token": result.mfa_token, "expires_in": result.expires_in},
        )
    return TokenResponse(
        access_token=result.access_token,
        refresh_token=result.refresh_token,
        expires_in=result.expires_in,
        refresh_expires_in=result.refresh_expires_in,
    )


@router.post("/login/mfa", response_model=TokenResponse, responses=_TOTP_UNAVAILABLE | _LOCKED)
def login_mfa(
    payload: MFALoginRequest, request: Request, response: Response, db: DbSession
) -> TokenResponse:
    """Finish an MFA sign-in with an authenticator or recovery code."""
    tokens = service.login_mfa(
        db, mfa_token=payload.mfa_token, code=payload.code, ip=client_ip(request)
    )
    return _token_response(response, tokens)


@router.post(
    "/refresh",
    response_model=TokenResponse,
    responses=problem(400, "No refresh token in the body or the refresh cookie"),
)
def refresh(
    request: Request, response: Response, db: DbSession, payload: RefreshRequest | None = None
) -> TokenResponse | JSONResponse:
    """Exchange a refresh token for new tokens; the old refresh token stops working."""
    given = _refresh_token(request, payload.refresh_token if payload else None)
    if not given:
        raise BadRequest("A refresh token is required", code="refresh_token_missing")
    try:
        tokens = service.refresh(db, refresh_token=given)
    except service.RefreshTokenReused as exc:
        # Raising would roll back the family's revocation; answer normally so it commits.
        answer = _problem(request, exc)
        _clear_cookies(answer)
        return answer
    return _token_response(response, tokens)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    request: Request, db: DbSession, user: CurrentUser, payload: LogoutRequest | None = None
) -> Response:
    """Revoke the access token and the session's refresh tokens (or every session)."""
    given = payload.refresh_token if payload else None
    service.logout(
        db,
        user=user,
        access_claims=request.state.token_claims,
        refresh_token=given or request.cookies.get(REFRESH_COOKIE),
        everywhere=bool(payload and payload.everywhere),
    )
    answer = Response(status_code=status.HTTP_204_NO_CONTENT)
    _clear_cookies(answer)
    return answer


@router.get("/me", response_model=UserRead)
def me(user: CurrentUser) -> UserRead:
    """The signed-in user."""
    return UserRead.model_validate(user)


@router.post(
    "/forgot-password", response_model=MessageResponse, status_code=status.HTTP_202_ACCEPTED
)
def forgot_password(payload: EmailRequest, db: DbSession) -> MessageResponse:
    """Mail a password-reset link; the answer is the same whether or not the email exists."""
    service.forgot_password(db, email=payload.email)
    return _ACCEPTED


@router.post("/reset-password", response_model=MessageResponse, responses=_INVALID_LINK)
def reset_password(payload: ResetPasswordRequest, db: DbSession) -> MessageResponse:
    """Set a new password with a reset token; signs the account out everywhere."""
    service.reset_password(db, token=payload.token, new_password=payload.new_password)
    return MessageResponse(detail="Password changed. Sign in with the new password.")


@router.post(
    "/verify-email/request",
    response_model=MessageResponse,
    status_code=status.HTTP_202_ACCEPTED,
)
def request_email_verification(payload: EmailRequest, db: DbSession) -> MessageResponse:
    """Mail an email-verification link (same answer whether or not the email exists)."""
    service.request_email_verification(db, email=payload.email)
    return _ACCEPTED


@router.post("/verify-email/confirm", response_model=MessageResponse, responses=_INVALID_LINK)
def confirm_email(payload: TokenConfirmRequest, db: DbSession) -> MessageResponse:
    """Mark the email verified with the token from the verification mail."""
    service.confirm_email(db, token=payload.token)
    return MessageResponse(detail="Email address verified.")


@router.post("/mfa/enable/request", response_model=MFASetupResponse)
def mfa_enable_request(db: DbSession, user: CurrentUser) -> MFASetupResponse:
    """Start MFA setup: a new TOTP secret, its otpauth:// URI and QR code."""
    secret, uri, qr = mfa.mfa_begin(db, user)
    return MFASetupResponse(secret=secret, otpauth_uri=uri, qr_code=qr)


@router.post(
    "/mfa/enable/confirm",
    response_model=RecoveryCodesResponse,
    responses=_TOTP_UNAVAILABLE | problem(400, "The authentication code is not valid"),
)
def mfa_enable_confirm(
    payload: MFACodeRequest, db: DbSession, user: CurrentUser
) -> RecoveryCodesResponse:
    """Turn MFA on with a first valid code; returns one-time recovery codes."""
    return RecoveryCodesResponse(recovery_codes=mfa.mfa_confirm(db, user, code=payload.code))


@router.post("/mfa/disable", response_model=MessageResponse, responses=_TOTP_UNAVAILABLE)
def mfa_disable(payload: MFADisableRequest, db: DbSession, user: CurrentUser) -> MessageResponse:
    """Turn MFA off; needs the password and an authenticator or recovery code."""
    mfa.mfa_disable(db, user, password=payload.password, code=payload.code)
    return MessageResponse(detail="MFA disabled.")
