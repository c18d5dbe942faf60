"""The service token endpoint (OAuth 2 client credentials with an RFC 7523 JWT client
assertion) and the check of its access tokens on every AGS and NRPS request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.core.database import utcnow
from app.core.errors import DomainError, PermissionDenied, Unauthorized
from app.modules.lti import claims as c
from app.modules.lti import keys, onetime, toolkeys, urls
from app.modules.lti import tools as tools_service
from app.modules.lti.html import NO_STORE
from app.modules.lti.models import LtiDeployment, LtiResourceLink, LtiTool

ACCESS_TOKEN_SECONDS = 3600
TOKEN_USE = "lti_service"  # noqa: S105 - a claim value, not a secret


def access_token_audience() -> str:
    return urls.issuer() + "#services"


class OAuthError(DomainError):
    """A refused token request, answered as RFC 6749 §5.2 says (not as problem details):
    `{"error", "error_description"}`, 400, or 401 for `invalid_client`, never cached."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description, code=error)
        self.status_code = 401 if error == "invalid_client" else 400

    def render(self, request: Request) -> JSONResponse:
        headers = {**NO_STORE}
        if self.status_code == 401:
            headers["WWW-Authenticate"] = 'Bearer error="invalid_client"'
        return JSONResponse(
            {"error": self.code, "error_description": self.detail},
            status_code=self.status_code,
            headers=headers,
        )


_FIELDS = ("grant_type", "client_assertion_type", "client_assertion")


def _authenticate(db: Session, assertion: str) -> LtiTool:
    """The tool whose valid, unused client assertion this is (RFC 7523 §3)."""
    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise OAuthError("invalid_client", "The client assertion is malformed") from exc
    client_id = unverified.get("iss")
    if not isinstance(client_id, str) or unverified.get("sub") != client_id:
        raise OAuthError("invalid_client", "The assertion's iss and sub must be the client_id")
    try:
        tool = tools_service.find_by_client_id(db, client_id)
        assertion_claims = toolkeys.verify_tool_jwt(
            tool, assertion, audience=urls.token_endpoint(), required=["iss", "sub", "exp", "jti"]
        )
        expires = datetime.fromtimestamp(int(assertion_claims["exp"]), UTC) + timedelta(minutes=1)
        onetime.consume(
            db,
            key=f"assertion:{tool.id}:{assertion_claims['jti']}",
            expires_at=expires,
            what="jti",
        )
    except DomainError as exc:
        raise OAuthError("invalid_client", exc.detail) from exc
    return tool


def issue_token(db: Session, *, form: dict[str, str]) -> dict[str, Any]:
    """The OAuth token answer for a valid client assertion: the requested scopes the tool
    holds, for one hour. Every refusal is an OAuthError."""
    missing = [name for name in _FIELDS if not form.get(name)]
    if missing:
        raise OAuthError("invalid_request", f"Missing parameter: {', '.join(missing)}")
    if form["grant_type"] != "client_credentials":
        raise OAuthError("unsupported_grant_type", "grant_type must be client_credentials")
    if form["client_assertion_type"] != c.CLIENT_ASSERTION_TYPE:
        raise OAuthError("invalid_client", "client_assertion_type must be jwt-bearer (RFC 7523)")
    tool = _authenticate(db, form["client_assertion"])
    requested = (form.get("scope") or "").split()
    unknown = sorted(set(requested) - set(c.SCOPES))
    if unknown:
        raise OAuthError("invalid_scope", f"Unknown scope: {' '.join(unknown)}")
    granted = sorted(set(requested) & set(tool.scopes))
    if not granted:
        raise OAuthError("invalid_scope", "None of the requested scopes is granted to the tool")
    now = utcnow()
    token = keys.sign(
        db,
        {
            "iss": urls.issuer(),
            "aud": access_token_audience(),
            "sub": tool.client_id,
            "token_use": TOKEN_USE,
            "scope": " ".join(granted),
            "jti": uuid.uuid4().hex,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=ACCESS_TOKEN_SECONDS)).timestamp()),
        },
    )
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_SECONDS,
        "scope": " ".join(granted),
    }


@dataclass(frozen=True)
class ServiceCaller:
    tool: LtiTool
    scopes: frozenset[str]


def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("A service access token is required", code="not_authenticated")
    return authorization[7:].strip()


def service_caller(
    db: Session, *, authorization: str | None, course_id: uuid.UUID, any_of: tuple[str, ...]
) -> ServiceCaller:
    """The tool behind a service request, refused unless its token is valid, carries one of
    `any_of` and the tool is deployed in the course (it has a link there)."""
    try:
        found = keys.verify(
            db,
            _bearer(authorization),
            audience=access_token_audience(),
            issuer=urls.issuer(),
            required=["exp", "sub", "scope"],
        )
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise Unauthorized("The access token is invalid or expired", code="token_invalid") from exc
    if found.get("token_use") != TOKEN_USE:
        raise Unauthorized("Not a service access token", code="token_invalid")
    tool = db.scalar(select(LtiTool).where(LtiTool.client_id == found["sub"]))
    if tool is None:
        raise Unauthorized("The tool no longer exists", code="token_invalid")
    # Scopes the tool lost since the token was issued are no longer honoured.
    scopes = frozenset(str(found["scope"]).split()) & frozenset(tool.scopes)
    if not scopes & set(any_of):
        raise PermissionDenied(
            "The access token lacks the scope for this", code="insufficient_scope"
        )
    deployed = db.scalar(
        select(
            exists().where(
                LtiResourceLink.course_id == course_id,
                LtiResourceLink.tool_id == tool.id,
                LtiResourceLink.deployment_id == LtiDeployment.id,
                LtiDeployment.tool_id == tool.id,
            )
        )
    )
    if not deployed:
        raise PermissionDenied("The tool is not deployed in this context", code="lti_not_deployed")
    return ServiceCaller(tool=tool, scopes=scopes)
