"""Launches: the third-party initiated login a user's browser is sent to, and the OIDC
authorization answer (the signed id_token) for a resource link or a deep linking request.

The login hint is a platform-signed JWT naming the user, the tool and what is launched; it
lives five minutes and is accepted once, so whoever presents it at the authorization endpoint
is the user it was issued to (a form POST from the tool carries no credentials of ours).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import jwt
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import utcnow
from app.core.errors import BadRequest, NotFound, Unauthorized
from app.core.permissions import Role
from app.modules.courses import sections
from app.modules.courses.access import CourseAccess
from app.modules.lti import claims as c
from app.modules.lti import keys, links, onetime, subjects, urls
from app.modules.lti import tools as tools_service
from app.modules.lti.models import LtiDeployment, LtiLineItem, LtiTool
from app.modules.lti.schemas import LoginInitiation
from app.modules.users.models import User

LOGIN_HINT_SECONDS = 300
ID_TOKEN_SECONDS = 300
DEEP_LINK_DATA_SECONDS = 3600
DEEP_LINKING = "deep_linking"


def login_hint_audience() -> str:
    return urls.issuer() + "#login_hint"


def deep_link_data_audience() -> str:
    return urls.issuer() + "#deep_linking_data"


def _login(
    db: Session,
    *,
    user: User,
    tool: LtiTool,
    deployment: LtiDeployment,
    course_id: uuid.UUID,
    link_id: uuid.UUID | None,
    target_link_uri: str,
    section_id: uuid.UUID | None = None,
) -> LoginInitiation:
    now = utcnow()
    message_hint = str(link_id) if link_id else DEEP_LINKING
    hint = keys.sign(
        db,
        {
            "iss": urls.issuer(),
            "aud": login_hint_audience(),
            "sub": str(user.id),
            "jti": uuid.uuid4().hex,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=LOGIN_HINT_SECONDS)).timestamp()),
            "tool": str(tool.id),
            "deployment": str(deployment.id),
            "course": str(course_id),
            "message": message_hint,
            "section": str(section_id) if section_id else None,
        },
    )
    return LoginInitiation(
        url=tool.oidc_initiation_url,
        params={
            "iss": urls.issuer(),
            "login_hint": hint,
            "target_link_uri": target_link_uri,
            "lti_message_hint": message_hint,
            "client_id": tool.client_id,
            "lti_deployment_id": deployment.deployment_id,
        },
    )


def start_launch(
    db: Session, *, course_id: uuid.UUID, link_id: uuid.UUID, user: User
) -> LoginInitiation:
    """The login initiation for opening a resource link."""
    link, deployment, _item, _placed = links.find_link(db, course_id=course_id, link_id=link_id)
    links.launch_access(db, course_id=course_id, link=link, user=user)
    tool = tools_service.get_tool(db, link.tool_id)
    return _login(
        db,
        user=user,
        tool=tool,
        deployment=deployment,
        course_id=course_id,
        link_id=link.id,
        target_link_uri=link.url or tool.target_link_uri,
    )


def start_item_launch(
    db: Session, *, course_id: uuid.UUID, item_id: uuid.UUID, user: User
) -> LoginInitiation:
    """The login initiation for opening a section item of kind `lti`."""
    item = sections.get_item(db, course_id=course_id, item_id=item_id)
    if item.lti_link_id is None:
        raise BadRequest("This item is not an LTI link", code="item_not_lti")
    return start_launch(db, course_id=course_id, link_id=item.lti_link_id, user=user)


def start_deep_linking(
    db: Session,
    *,
    course_id: uuid.UUID,
    tool_id: uuid.UUID,
    user: User,
    deployment_id: str | None,
    section_id: uuid.UUID | None,
) -> LoginInitiation:
    """The login initiation for choosing content from a tool (course managers); the chosen
    links go to the end of `section_id` (default: the course's last section)."""
    links.launch_access(db, course_id=course_id, link=None, user=user)
    if section_id is not None:
        sections.get_section(db, course_id=course_id, section_id=section_id, user=user)
    tool = tools_service.get_tool(db, tool_id)
    deployment = tools_service.find_deployment(db, tool=tool, deployment_id=deployment_id)
    return _login(
        db,
        user=user,
        tool=tool,
        deployment=deployment,
        course_id=course_id,
        link_id=None,
        target_link_uri=tool.target_link_uri,
        section_id=section_id,
    )


def _require(value: str | None, expected: str | None, name: str) -> str:
    if not value:
        raise BadRequest(f"{name} is required", code="lti_invalid_request")
    if expected is not None and value != expected:
        raise BadRequest(f"{name} must be {expected}", code="lti_invalid_request")
    return value


def _roles(user: User, access: CourseAccess) -> list[str]:
    if not access.manager:
        return [c.ROLE_LEARNER]
    if user.role == Role.ADMIN.value and access.course.instructor_id != user.id:
        return [c.ROLE_ADMINISTRATOR, c.ROLE_INSTRUCTOR]
    return [c.ROLE_INSTRUCTOR]


def user_claims(tool: LtiTool, user: User) -> dict[str, Any]:
    """`name` and `email` as the tool's privacy settings allow."""
    found: dict[str, Any] = {}
    if tool.send_name:
        found["name"] = user.full_name
    if tool.send_email:
        found["email"] = user.email
    return found


def service_claims(tool: LtiTool, course_id: uuid.UUID, item: LtiLineItem | None) -> dict[str, Any]:
    """The AGS and NRPS endpoint claims, for the services the tool's scopes allow."""
    found: dict[str, Any] = {}
    ags = [scope for scope in tool.scopes if scope in c.AGS_SCOPES]
    if ags:
        endpoint: dict[str, Any] = {"scope": ags, "lineitems": urls.line_items_url(course_id)}
        if item is not None:
            endpoint["lineitem"] = urls.line_item_url(course_id, item.id)
        found[c.AGS_ENDPOINT] = endpoint
    if c.SCOPE_NRPS in tool.scopes:
        found[c.NRPS_SERVICE] = {
            "context_memberships_url": urls.memberships_url(course_id),
            "service_versions": ["2.0"],
        }
    return found


def _message(
    db: Session,
    *,
    hint: dict[str, Any],
    tool: LtiTool,
    user: User,
    course_id: uuid.UUID,
    deployment: LtiDeployment,
) -> tuple[dict[str, Any], CourseAccess]:
    """The message-specific claims of the id_token, and the user's access to the course."""
    if hint["message"] == DEEP_LINKING:
        access = links.launch_access(db, course_id=course_id, link=None, user=user)
        data = keys.sign(
            db,
            {
                "aud": deep_link_data_audience(),
                "exp": int((utcnow() + timedelta(seconds=DEEP_LINK_DATA_SECONDS)).timestamp()),
                "course": str(course_id),
                "tool": str(tool.id),
                "deployment": str(deployment.id),
                "user": str(user.id),
                "section": hint.get("section"),
            },
        )
        return {
            c.MESSAGE_TYPE: c.DEEP_LINKING_REQUEST,
            c.TARGET_LINK_URI: tool.target_link_uri,
            c.ROLES: _roles(user, access),
            c.DEEP_LINKING_SETTINGS: {
                "deep_link_return_url": urls.deep_link_return_url(),
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "accept_multiple": True,
                "auto_create": True,
                "data": data,
            },
            c.CUSTOM: tool.custom,
            **service_claims(tool, course_id, None),
        }, access
    link, link_deployment, item, _placed = links.find_link(
        db, course_id=course_id, link_id=uuid.UUID(hint["message"])
    )
    if link_deployment.id != deployment.id or link.tool_id != tool.id:
        raise Unauthorized("The login hint does not match the link", code="lti_invalid_login_hint")
    # The release rule again: the item may have locked since the login was initiated.
    access = links.launch_access(db, course_id=course_id, link=link, user=user)
    return {
        c.MESSAGE_TYPE: c.RESOURCE_LINK_REQUEST,
        c.TARGET_LINK_URI: link.url or tool.target_link_uri,
        c.RESOURCE_LINK: {"id": str(link.id), "title": link.title},
        c.ROLES: _roles(user, access),
        c.CUSTOM: {**tool.custom, **link.custom},
        **service_claims(tool, course_id, item),
    }, access


def _verified_hint(db: Session, login_hint: str) -> dict[str, Any]:
    try:
        return keys.verify(
            db,
            login_hint,
            audience=login_hint_audience(),
            issuer=urls.issuer(),
            required=["exp", "iat", "jti", "sub"],
        )
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise Unauthorized(
            "The login hint is invalid or expired", code="lti_invalid_login_hint"
        ) from exc


def authorize(db: Session, *, params: dict[str, str]) -> tuple[str, dict[str, str]]:
    """Check an OIDC authentication request; answer (redirect_uri, form fields) to post."""
    _require(params.get("scope"), "openid", "scope")
    _require(params.get("response_type"), "id_token", "response_type")
    _require(params.get("response_mode"), "form_post", "response_mode")
    _require(params.get("prompt"), "none", "prompt")
    client_id = _require(params.get("client_id"), None, "client_id")
    redirect_uri = _require(params.get("redirect_uri"), None, "redirect_uri")
    login_hint = _require(params.get("login_hint"), None, "login_hint")
    nonce = _require(params.get("nonce"), None, "nonce")
    state = _require(params.get("state"), None, "state")
    tool = tools_service.find_by_client_id(db, client_id)
    if redirect_uri not in tool.redirect_uris:
        raise BadRequest(
            "redirect_uri is not registered for this tool", code="lti_invalid_redirect_uri"
        )
    hint = _verified_hint(db, login_hint)
    if hint.get("tool") != str(tool.id):
        raise Unauthorized(
            "The login hint was issued for another tool", code="lti_invalid_login_hint"
        )
    if params.get("lti_message_hint") != hint.get("message"):
        raise Unauthorized(
            "lti_message_hint does not match the login", code="lti_invalid_login_hint"
        )
    expires = utcnow() + timedelta(seconds=LOGIN_HINT_SECONDS + 60)
    onetime.consume(db, key=f"login_hint:{hint['jti']}", expires_at=expires, what="login hint")
    onetime.consume(db, key=f"nonce:{tool.id}:{nonce}", expires_at=expires, what="nonce")
    user = db.get(User, uuid.UUID(hint["sub"]))
    if user is None or not user.is_active:
        raise Unauthorized("The user can no longer launch", code="user_inactive")
    course_id = uuid.UUID(hint["course"])
    deployment = db.get(LtiDeployment, uuid.UUID(hint["deployment"]))
    if deployment is None or deployment.tool_id != tool.id:
        raise NotFound("LTI deployment not found", code="lti_deployment_not_found")
    message, access = _message(
        db, hint=hint, tool=tool, user=user, course_id=course_id, deployment=deployment
    )
    course = access.course
    now = utcnow()
    id_token = keys.sign(
        db,
        {
            "iss": urls.issuer(),
            "aud": tool.client_id,
            "azp": tool.client_id,
            "sub": subjects.sub_for(db, tool_id=tool.id, user_id=user.id),
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=ID_TOKEN_SECONDS)).timestamp()),
            "nonce": nonce,
            c.VERSION: c.LTI_VERSION,
            c.DEPLOYMENT_ID: deployment.deployment_id,
            c.CONTEXT: {
                "id": str(course.id),
                "label": course.slug,
                "title": course.title,
                "type": [c.CONTEXT_COURSE_OFFERING],
            },
            c.LAUNCH_PRESENTATION: {"document_target": "window", "locale": "en"},
            c.TOOL_PLATFORM: {
                "guid": urls.issuer(),
                "name": get_settings().PROJECT_NAME,
                "product_family_code": "lms-backend",
            },
            **user_claims(tool, user),
            **message,
        },
    )
    return redirect_uri, {"id_token": id_token, "state": state}
