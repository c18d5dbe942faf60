"""Tool registration (admins): the tool's URLs, keys, scopes and privacy, the client_id and
deployments the platform gives it."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.cache import cache_delete_prefix
from app.core.config import get_settings
from app.core.errors import BadRequest, BusinessRuleViolation, NotFound
from app.core.pagination import PageParams, paginate
from app.modules.lti import urls
from app.modules.lti.models import LtiDeployment, LtiTool
from app.modules.lti.schemas import (
    DeploymentCreate,
    DeploymentRead,
    PlatformValues,
    ToolCreate,
    ToolRead,
    ToolUpdate,
)
from app.modules.webhooks.ssrf import UnsafeTarget, check_target


def _check_jwks_url(url: str) -> None:
    try:
        check_target(url, allow_private=get_settings().webhooks_allow_private)
    except UnsafeTarget as exc:
        raise BusinessRuleViolation(str(exc), code="lti_jwks_url_refused") from exc


def _new_deployment(tool: LtiTool, label: str | None) -> LtiDeployment:
    return LtiDeployment(tool_id=tool.id, deployment_id=secrets.token_hex(8), label=label)


def create_tool(db: Session, *, data: ToolCreate) -> LtiTool:
    if data.jwks_url is not None:
        _check_jwks_url(str(data.jwks_url))
    tool = LtiTool(
        name=data.name,
        client_id=secrets.token_hex(16),
        oidc_initiation_url=str(data.oidc_initiation_url),
        target_link_uri=str(data.target_link_uri),
        redirect_uris=list(dict.fromkeys(str(uri) for uri in data.redirect_uris)),
        jwks_url=str(data.jwks_url) if data.jwks_url else None,
        public_jwk=data.public_jwk,
        scopes=sorted(set(data.scopes)),
        send_name=data.send_name,
        send_email=data.send_email,
        custom=data.custom,
    )
    db.add(tool)
    db.flush()
    db.add(_new_deployment(tool, "default"))
    db.flush()
    return tool


def get_tool(db: Session, tool_id: uuid.UUID) -> LtiTool:
    tool = db.get(LtiTool, tool_id)
    if tool is None:
        raise NotFound("LTI tool not found", code="lti_tool_not_found")
    return tool


def find_by_client_id(db: Session, client_id: str) -> LtiTool:
    tool = db.scalar(select(LtiTool).where(LtiTool.client_id == client_id))
    if tool is None:
        raise BadRequest("Unknown client_id", code="lti_unknown_client")
    return tool


def list_tools(db: Session, params: PageParams) -> tuple[list[LtiTool], int]:
    return paginate(db, select(LtiTool).order_by(LtiTool.created_at.desc(), LtiTool.id), params)


def update_tool(db: Session, *, tool_id: uuid.UUID, data: ToolUpdate) -> LtiTool:
    tool = get_tool(db, tool_id)
    changes = data.model_dump(exclude_unset=True)
    if "jwks_url" in changes:
        changes["jwks_url"] = str(changes["jwks_url"])
        _check_jwks_url(changes["jwks_url"])
        changes["public_jwk"] = None
    elif "public_jwk" in changes:
        changes["jwks_url"] = None
    for name in ("oidc_initiation_url", "target_link_uri"):
        if name in changes:
            changes[name] = str(changes[name])
    if "redirect_uris" in changes:
        changes["redirect_uris"] = list(dict.fromkeys(str(u) for u in changes["redirect_uris"]))
    if "scopes" in changes:
        changes["scopes"] = sorted(set(changes["scopes"]))
    for name, value in changes.items():
        setattr(tool, name, value)
    db.flush()
    if tool.jwks_url:
        cache_delete_prefix("lti:jwks:")
    return tool


def delete_tool(db: Session, *, tool_id: uuid.UUID) -> None:
    db.delete(get_tool(db, tool_id))
    db.flush()


def add_deployment(db: Session, *, tool_id: uuid.UUID, data: DeploymentCreate) -> LtiDeployment:
    deployment = _new_deployment(get_tool(db, tool_id), data.label)
    db.add(deployment)
    db.flush()
    return deployment


def deployments_of(db: Session, tool_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[LtiDeployment]]:
    """Each tool's deployments, oldest first, in one query."""
    found: dict[uuid.UUID, list[LtiDeployment]] = {tool_id: [] for tool_id in tool_ids}
    rows = db.scalars(
        select(LtiDeployment)
        .where(LtiDeployment.tool_id.in_(tool_ids))
        .order_by(LtiDeployment.created_at, LtiDeployment.deployment_id)
    )
    for row in rows:
        found[row.tool_id].append(row)
    return found


def find_deployment(db: Session, *, tool: LtiTool, deployment_id: str | None) -> LtiDeployment:
    """The tool's deployment `deployment_id`, or its first one for None."""
    statement = select(LtiDeployment).where(LtiDeployment.tool_id == tool.id)
    if deployment_id is not None:
        statement = statement.where(LtiDeployment.deployment_id == deployment_id)
    deployment = db.scalar(
        statement.order_by(LtiDeployment.created_at, LtiDeployment.deployment_id).limit(1)
    )
    if deployment is None:
        raise NotFound("LTI deployment not found", code="lti_deployment_not_found")
    return deployment


def tool_read(tool: LtiTool, deployments: list[LtiDeployment]) -> ToolRead:
    first = deployments[0].deployment_id if deployments else ""
    return ToolRead(
        id=tool.id,
        name=tool.name,
        client_id=tool.client_id,
        deployment_id=first,
        oidc_initiation_url=tool.oidc_initiation_url,
        target_link_uri=tool.target_link_uri,
        redirect_uris=tool.redirect_uris,
        tool_jwks_url=tool.jwks_url,
        public_jwk=tool.public_jwk,
        scopes=tool.scopes,
        send_name=tool.send_name,
        send_email=tool.send_email,
        custom=tool.custom,
        deployments=[DeploymentRead.model_validate(d) for d in deployments],
        platform=PlatformValues(
            issuer=urls.issuer(),
            client_id=tool.client_id,
            deployment_id=first,
            authorization_endpoint=urls.authorization_endpoint(),
            token_endpoint=urls.token_endpoint(),
            jwks_url=urls.jwks_url(),
        ),
        created_at=tool.created_at,
        updated_at=tool.updated_at,
    )


def read_tools(db: Session, tools: list[LtiTool]) -> list[ToolRead]:
    deployments = deployments_of(db, [tool.id for tool in tools])
    return [tool_read(tool, deployments[tool.id]) for tool in tools]
