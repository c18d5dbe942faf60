"""Deep Linking 2.0 responses: the tool posts its signed JWT to the return URL; each
`ltiResourceLink` content item becomes a resource link of the course (with an AGS line item
when it carries `lineItem`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import jwt
from sqlalchemy.orm import Session

from app.core.errors import BadRequest, BusinessRuleViolation, Unauthorized
from app.modules.courses import access as courses_access
from app.modules.courses.access import Capability
from app.modules.lti import claims as c
from app.modules.lti import keys, launch, links, onetime, toolkeys, urls
from app.modules.lti import tools as tools_service
from app.modules.lti.models import LtiDeployment
from app.modules.lti.schemas import LinkRead
from app.modules.users.models import User

MAX_ITEMS = 50


def _data(db: Session, value: Any) -> dict[str, Any]:
    if not isinstance(value, str):
        raise Unauthorized("The deep linking data is missing", code="lti_invalid_deep_link")
    try:
        return keys.verify(
            db,
            value,
            audience=launch.deep_link_data_audience(),
            issuer=None,
            required=["exp", "course", "tool", "deployment", "user"],
        )
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise Unauthorized(
            "The deep linking data is invalid or expired", code="lti_invalid_deep_link"
        ) from exc


def _text(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value.strip() else None


def _url(value: Any) -> str | None:
    url = _text(value, 2000)
    return url if url and url.lower().startswith(("https://", "http://")) else None


def _custom(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k)[:64]: str(v)[:1000] for k, v in list(value.items())[:50]}


def _line_item(value: Any, title: str) -> tuple[Decimal, str | None] | None:
    if value is None:
        return None
    try:
        maximum = Decimal(str(value["scoreMaximum"]))
    except (KeyError, TypeError, InvalidOperation) as exc:
        raise BusinessRuleViolation(
            "lineItem.scoreMaximum must be a number", code="lti_invalid_content_item"
        ) from exc
    if not maximum.is_finite() or maximum <= 0:
        raise BusinessRuleViolation(
            "lineItem.scoreMaximum must be positive", code="lti_invalid_content_item"
        )
    return maximum, _text(value.get("label"), 300) or title


def receive_response(db: Session, *, token: str) -> list[LinkRead]:
    """Verify a deep linking response JWT and create its resource links."""
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise BadRequest("The JWT is malformed", code="lti_invalid_deep_link") from exc
    tool = tools_service.find_by_client_id(db, str(unverified.get("iss") or ""))
    found = toolkeys.verify_tool_jwt(
        tool, token, audience=urls.issuer(), required=["iss", "aud", "exp", "iat", "nonce"]
    )
    if (
        found.get(c.MESSAGE_TYPE) != c.DEEP_LINKING_RESPONSE
        or found.get(c.VERSION) != c.LTI_VERSION
    ):
        raise BadRequest("Not an LTI 1.3 deep linking response", code="lti_invalid_deep_link")
    data = _data(db, found.get(c.DL_DATA))
    deployment = db.get(LtiDeployment, uuid.UUID(data["deployment"]))
    if (
        data["tool"] != str(tool.id)
        or deployment is None
        or deployment.tool_id != tool.id
        or found.get(c.DEPLOYMENT_ID) != deployment.deployment_id
    ):
        raise Unauthorized("The response does not match the request", code="lti_invalid_deep_link")
    expires = datetime.fromtimestamp(int(found["exp"]), UTC) + timedelta(minutes=1)
    onetime.consume(
        db, key=f"dl_nonce:{tool.id}:{found['nonce']}", expires_at=expires, what="nonce"
    )
    user = db.get(User, uuid.UUID(data["user"]))
    if user is None or not user.is_active:
        raise Unauthorized("The user can no longer add content", code="user_inactive")
    course_id = uuid.UUID(data["course"])
    # The user still manages the course's content; its row is locked while links are placed.
    courses_access.get_owned_course(
        db, course_id=course_id, user=user, capability=Capability.CONTENT, for_update=True
    )
    section = data.get("section")
    items = found.get(c.CONTENT_ITEMS) or []
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        raise BusinessRuleViolation(
            f"content_items must be a list of at most {MAX_ITEMS}", code="lti_invalid_content_item"
        )
    created = []
    for item in items:
        if not isinstance(item, dict) or item.get("type") != "ltiResourceLink":
            continue  # only resource links were asked for (accept_types)
        title = _text(item.get("title"), 300) or tool.name
        created.append(
            links.create_link(
                db,
                course_id=course_id,
                tool=tool,
                deployment=deployment,
                title=title,
                url=_url(item.get("url")),
                custom=_custom(item.get("custom")),
                line_item=_line_item(item.get("lineItem"), title),
                section_id=uuid.UUID(section) if section else None,
            )
        )
    return created
