"""`/api/v1/lti/...`: tool registration (admins), the platform's JWK set, the OIDC
authorization endpoint, the service token endpoint and the deep linking return URL."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Form, Request, status
from fastapi.responses import HTMLResponse, JSONResponse

from app.core.dependencies import DbSession
from app.core.errors import problem
from app.core.pagination import Page, Pagination
from app.core.routing import APIRouter
from app.modules.lti import deeplinking, html, keys, launch, tokens
from app.modules.lti import tools as tools_service
from app.modules.lti.schemas import (
    DeepLinkResult,
    DeploymentCreate,
    DeploymentRead,
    OAuthErrorAnswer,
    TokenAnswer,
    ToolCreate,
    ToolRead,
    ToolUpdate,
)
from app.modules.users.dependencies import AdminUser

router = APIRouter(prefix="/lti", tags=["lti"])


@router.get("/jwks", summary="The platform's public keys (JWK set)")
def platform_jwks(db: DbSession) -> dict[str, Any]:
    """The platform's public signing keys, for tools to verify its id_tokens."""
    return keys.jwks(db)


@router.post("/tools", response_model=ToolRead, status_code=status.HTTP_201_CREATED)
def create_tool(data: ToolCreate, db: DbSession, _admin: AdminUser) -> ToolRead:
    """Register an LTI 1.3 tool; the answer holds the values the tool is configured with."""
    tool = tools_service.create_tool(db, data=data)
    return tools_service.read_tools(db, [tool])[0]


@router.get("/tools", response_model=Page[ToolRead])
def list_tools(db: DbSession, _admin: AdminUser, params: Pagination) -> Page[ToolRead]:
    """List registered LTI tools, newest first."""
    items, total = tools_service.list_tools(db, params)
    return Page[ToolRead].build(tools_service.read_tools(db, items), total, params)


@router.get("/tools/{tool_id}", response_model=ToolRead)
def get_tool(tool_id: uuid.UUID, db: DbSession, _admin: AdminUser) -> ToolRead:
    """Show one LTI tool with its deployments."""
    return tools_service.read_tools(db, [tools_service.get_tool(db, tool_id)])[0]


@router.patch("/tools/{tool_id}", response_model=ToolRead)
def update_tool(tool_id: uuid.UUID, data: ToolUpdate, db: DbSession, _admin: AdminUser) -> ToolRead:
    """Change a tool's URLs, keys, scopes, privacy or custom parameters."""
    tool = tools_service.update_tool(db, tool_id=tool_id, data=data)
    return tools_service.read_tools(db, [tool])[0]


@router.delete("/tools/{tool_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_tool(tool_id: uuid.UUID, db: DbSession, _admin: AdminUser) -> None:
    """Delete a tool with its deployments, links, line items and scores."""
    tools_service.delete_tool(db, tool_id=tool_id)


@router.post(
    "/tools/{tool_id}/deployments",
    response_model=DeploymentRead,
    status_code=status.HTTP_201_CREATED,
)
def add_deployment(
    tool_id: uuid.UUID, data: DeploymentCreate, db: DbSession, _admin: AdminUser
) -> DeploymentRead:
    """Add a deployment (a new deployment_id) to a tool."""
    deployment = tools_service.add_deployment(db, tool_id=tool_id, data=data)
    return DeploymentRead.model_validate(deployment)


async def _oidc_params(request: Request) -> dict[str, str]:
    """A request's parameters: the query (GET) or the form (POST)."""
    if request.method == "POST":
        form = await request.form()
        return {key: value for key, value in form.items() if isinstance(value, str)}
    return dict(request.query_params)


OidcParams = Annotated[dict[str, str], Depends(_oidc_params)]
_AUTHORIZE_RESPONSES = {
    200: {"content": {"text/html": {}}, "description": "A form posting id_token and state"},
    **problem(400, "A missing or wrong parameter, an unknown client or redirect_uri"),
}


@router.get("/authorize", response_class=HTMLResponse, responses=_AUTHORIZE_RESPONSES)
def authorize_get(params: OidcParams, db: DbSession) -> HTMLResponse:
    """OIDC authentication request of an LTI launch: answers the signed id_token."""
    redirect_uri, fields = launch.authorize(db, params=params)
    return html.auto_submit_form(redirect_uri, fields)


@router.post("/authorize", response_class=HTMLResponse, responses=_AUTHORIZE_RESPONSES)
def authorize_post(params: OidcParams, db: DbSession) -> HTMLResponse:
    """OIDC authentication request of an LTI launch (form POST): answers the id_token."""
    redirect_uri, fields = launch.authorize(db, params=params)
    return html.auto_submit_form(redirect_uri, fields)


_TOKEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "model": OAuthErrorAnswer,
        "description": "invalid_request, unsupported_grant_type or invalid_scope",
    },
    401: {"model": OAuthErrorAnswer, "description": "invalid_client: a bad or replayed assertion"},
}


@router.post(
    "/token",
    response_model=TokenAnswer,
    response_class=JSONResponse,
    responses=_TOKEN_RESPONSES,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type", "client_assertion_type", "client_assertion"],
                        "properties": {
                            "grant_type": {"type": "string"},
                            "client_assertion_type": {"type": "string"},
                            "client_assertion": {"type": "string"},
                            "scope": {"type": "string"},
                        },
                    }
                }
            },
            "required": True,
        }
    },
)
def token(db: DbSession, form: OidcParams) -> JSONResponse:
    """Service access token for a tool (client credentials, RFC 7523 JWT assertion)."""
    return JSONResponse(tokens.issue_token(db, form=form), headers=html.NO_STORE)


@router.post(
    "/deep-link/return",
    response_model=DeepLinkResult,
    status_code=status.HTTP_201_CREATED,
    responses=problem(400, "Not a deep linking response"),
)
def deep_link_return(db: DbSession, JWT: Annotated[str, Form()]) -> DeepLinkResult:
    """Deep linking return URL: the tool's signed response creates the chosen links."""
    return DeepLinkResult(items=deeplinking.receive_response(db, token=JWT))
