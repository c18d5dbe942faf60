"""Request and response bodies of the LTI administration, resource link and launch APIs."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.core.schemas import WEB_URL_SCHEMA, PartialUpdate
from app.core.validation import RequestModel
from app.modules.lti.claims import SCOPES

Scope = Literal[SCOPES]  # type: ignore[valid-type]
Url = Annotated[AnyHttpUrl, Field(json_schema_extra=WEB_URL_SCHEMA)]
CustomKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,64}$")]
CustomValue = Annotated[str, StringConstraints(max_length=1000)]
Custom = Annotated[dict[CustomKey, CustomValue], Field(max_length=50)]


class _Base(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _check_jwk(jwk: dict[str, Any] | None) -> None:
    if jwk is None:
        return
    if jwk.get("kty") != "RSA" or not jwk.get("n") or not jwk.get("e"):
        raise ValueError("public_jwk must be an RSA public key (kty, n, e)")
    if "d" in jwk:
        raise ValueError("public_jwk must not contain a private key")
    if jwk.get("alg", "RS256") != "RS256":
        raise ValueError("public_jwk must be an RS256 key")


class ToolCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    oidc_initiation_url: Url
    target_link_uri: Url
    redirect_uris: list[Url] = Field(
        min_length=1, max_length=20, description="Launch URLs, matched exactly"
    )
    jwks_url: Url | None = Field(default=None, description="The tool's JWK set URL")
    public_jwk: dict[str, Any] | None = Field(
        default=None, description="The tool's RSA public key as a JWK (instead of jwks_url)"
    )
    scopes: list[Scope] = Field(default_factory=list, description="IMS scopes the tool may use")
    send_name: bool = False
    send_email: bool = False
    custom: Custom = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_key_source(self) -> Self:
        if (self.jwks_url is None) == (self.public_jwk is None):
            raise ValueError("give exactly one of jwks_url and public_jwk")
        _check_jwk(self.public_jwk)
        return self


class ToolUpdate(PartialUpdate):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    oidc_initiation_url: Url | None = None
    target_link_uri: Url | None = None
    redirect_uris: list[Url] | None = Field(default=None, min_length=1, max_length=20)
    jwks_url: Url | None = None
    public_jwk: dict[str, Any] | None = None
    scopes: list[Scope] | None = None
    send_name: bool | None = None
    send_email: bool | None = None
    custom: Custom | None = None

    @model_validator(mode="after")
    def _one_key_source(self) -> Self:
        if self.jwks_url is not None and self.public_jwk is not None:
            raise ValueError("give at most one of jwks_url and public_jwk")
        _check_jwk(self.public_jwk)
        return self


class DeploymentCreate(RequestModel):
    label: str | None = Field(default=None, max_length=200)


class DeploymentRead(_Base):
    deployment_id: str
    label: str | None
    created_at: datetime


class PlatformValues(BaseModel):
    """What the tool's side is configured with."""

    issuer: str
    client_id: str
    deployment_id: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_url: str


class ToolRead(_Base):
    id: uuid.UUID
    name: str
    client_id: str
    deployment_id: str = Field(description="The first deployment's id")
    oidc_initiation_url: str
    target_link_uri: str
    redirect_uris: list[str]
    tool_jwks_url: str | None = Field(description="The tool's JWK set URL, when it has one")
    public_jwk: dict[str, Any] | None
    scopes: list[str]
    send_name: bool
    send_email: bool
    custom: dict[str, str]
    deployments: list[DeploymentRead]
    platform: PlatformValues
    created_at: datetime
    updated_at: datetime


class LineItemSpec(RequestModel):
    score_maximum: Decimal = Field(gt=0, le=Decimal("1000000"), decimal_places=4)
    label: str | None = Field(default=None, min_length=1, max_length=300)


class LinkCreate(RequestModel):
    """A section item of kind `lti`: a tool's resource link, placed at the end of
    `section_id` (default: the course's last section) and released like any item."""

    kind: Literal["lti"] = "lti"
    section_id: uuid.UUID | None = Field(
        default=None, description="The section to add it to (default: the course's last)"
    )
    tool_id: uuid.UUID
    deployment_id: str | None = Field(
        default=None, max_length=64, description="The tool's deployment (default: its first)"
    )
    title: str = Field(min_length=1, max_length=300)
    url: Url | None = Field(default=None, description="Launch URL (default: the tool's)")
    custom: Custom = Field(default_factory=dict)
    line_item: LineItemSpec | None = None
    is_published: bool = Field(default=True, description="A draft is shown to managers only")


class LinkUpdate(PartialUpdate):
    nullable = frozenset({"url"})

    title: str | None = Field(default=None, min_length=1, max_length=300)
    url: Url | None = None
    custom: Custom | None = None
    is_published: bool | None = None


class LineItemSummary(_Base):
    id: uuid.UUID
    label: str
    score_maximum: Decimal


class LinkRead(BaseModel):
    id: uuid.UUID
    kind: Literal["lti"] = "lti"
    item_id: uuid.UUID | None = Field(
        description="Its section item (launch: GET /courses/{course_id}/items/{item_id}/launch)"
    )
    section_id: uuid.UUID | None
    course_id: uuid.UUID
    tool_id: uuid.UUID
    deployment_id: str
    title: str
    url: str | None
    custom: dict[str, str]
    is_published: bool
    line_item: LineItemSummary | None
    created_at: datetime
    updated_at: datetime


class LoginInitiation(BaseModel):
    """The third-party initiated login to send the browser to (a form POST)."""

    url: str
    method: Literal["POST"] = "POST"
    params: dict[str, str]


class DeepLinkResult(BaseModel):
    items: list[LinkRead]


class TokenAnswer(BaseModel):
    """A service access token (RFC 6749 §5.1)."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str = Field(description="The granted scopes, space-separated")


class OAuthErrorAnswer(BaseModel):
    """A refused token request (RFC 6749 §5.2)."""

    error: Literal[
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    ]
    error_description: str
