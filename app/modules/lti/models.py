"""The LTI 1.3 tables: registered tools and their deployments, the platform's signing keys,
resource links placed in courses, AGS line items and scores, each tool's ids of its users,
and used one-time token ids."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base, Timestamps, UUIDPrimaryKey


class LtiTool(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "lti_tools"

    name: Mapped[str] = mapped_column(String(200))
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    oidc_initiation_url: Mapped[str] = mapped_column(String(2000))
    target_link_uri: Mapped[str] = mapped_column(String(2000))
    # Compared exactly with an authorization request's redirect_uri.
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    # The tool's keys: fetched from jwks_url, or the one pasted public JWK.
    jwks_url: Mapped[str | None] = mapped_column(String(2000))
    public_jwk: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    send_name: Mapped[bool] = mapped_column(Boolean, default=False)
    send_email: Mapped[bool] = mapped_column(Boolean, default=False)
    custom: Mapped[dict[str, str]] = mapped_column(JSON)


class LtiDeployment(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "lti_deployments"
    __table_args__ = (UniqueConstraint("tool_id", "deployment_id"),)

    tool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lti_tools.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(200))


class LtiPlatformKey(UUIDPrimaryKey, Timestamps, Base):
    """An RSA signing key. The newest unretired one signs; a retired one is still published
    until every token it signed has expired."""

    __tablename__ = "lti_platform_keys"

    kid: Mapped[str] = mapped_column(String(64), unique=True)
    # PEM of the private key, Fernet-encrypted under MFA_SECRET_ENCRYPTION_KEYS.
    private_key_ciphertext: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    retired_at: Mapped[datetime | None] = mapped_column(index=True)


class LtiResourceLink(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "lti_resource_links"
    __table_args__ = (
        Index("ix_lti_resource_links_course_id_created_at", "course_id", "created_at"),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    tool_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lti_tools.id", ondelete="CASCADE"), index=True
    )
    deployment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lti_deployments.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(2000))
    custom: Mapped[dict[str, str]] = mapped_column(JSON)
    # A draft link is listed to the course's managers only, like a draft lesson.
    is_published: Mapped[bool] = mapped_column(Boolean, default=True)


class LtiLineItem(UUIDPrimaryKey, Timestamps, Base):
    """An AGS line item (a gradebook column) of a course, owned by the tool that made it."""

    __tablename__ = "lti_line_items"
    __table_args__ = (Index("ix_lti_line_items_course_id_tool_id", "course_id", "tool_id"),)

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    tool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lti_tools.id", ondelete="CASCADE"))
    resource_link_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("lti_resource_links.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(300))
    score_maximum: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    resource_id: Mapped[str | None] = mapped_column(String(300))
    tag: Mapped[str | None] = mapped_column(String(300))
    start_date_time: Mapped[datetime | None]
    end_date_time: Mapped[datetime | None]


class LtiScore(UUIDPrimaryKey, Timestamps, Base):
    """The latest score a tool published for one user on one line item (its result)."""

    __tablename__ = "lti_scores"
    __table_args__ = (UniqueConstraint("line_item_id", "user_id"),)

    line_item_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lti_line_items.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    score_given: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    score_maximum: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    activity_progress: Mapped[str] = mapped_column(String(20))
    grading_progress: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    timestamp: Mapped[datetime]


class LtiSubject(Base):
    """The opaque `sub` one tool knows a user by (in launches, NRPS and AGS): random, stored,
    and different for every tool, so two tools cannot match their learners."""

    __tablename__ = "lti_subjects"
    __table_args__ = (UniqueConstraint("tool_id", "sub"),)

    tool_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lti_tools.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    sub: Mapped[str] = mapped_column(String(64))


class LtiUsedToken(Base):
    """Ids of one-time values already consumed (login hints, nonces, client assertion jtis),
    kept until the value would have expired anyway."""

    __tablename__ = "lti_used_tokens"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
