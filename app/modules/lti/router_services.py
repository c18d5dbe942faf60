"""`/api/v1/lti/contexts/{course_id}/...`: the AGS 2.0 line items, scores and results and the
NRPS 2.0 memberships of a course, for tools holding a service access token."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.core.dependencies import DbSession
from app.core.routing import APIRouter
from app.modules.lti import ags, nrps, tokens
from app.modules.lti import claims as c
from app.modules.lti.ags_schemas import LineItemBody, LineItemJson, ScoreBody
from app.modules.lti.paging import ImsPagination, ims_page, ims_response

router = APIRouter(prefix="/lti/contexts", tags=["lti services"])
_bearer = HTTPBearer(auto_error=False, description="A token from /api/v1/lti/token")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
READ_ITEMS = (c.SCOPE_LINEITEM, c.SCOPE_LINEITEM_READONLY)


def _caller(
    db: DbSession, credentials: Credentials, course_id: uuid.UUID, any_of: tuple[str, ...]
) -> tokens.ServiceCaller:
    authorization = f"Bearer {credentials.credentials}" if credentials else None
    return tokens.service_caller(
        db, authorization=authorization, course_id=course_id, any_of=any_of
    )


def _ims_get(path: str, media_type: str) -> Any:
    """A GET route answering an IMS document of `media_type`."""
    content: dict[str, object] = {media_type: {}}
    return router.get(
        path,
        response_class=Response,
        responses={200: {"content": content, "description": "An IMS document"}},
    )


@_ims_get("/{course_id}/lineitems", c.MEDIA_LINEITEM_CONTAINER)
def list_line_items(
    course_id: uuid.UUID,
    request: Request,
    db: DbSession,
    credentials: Credentials,
    params: ImsPagination,
    resource_link_id: str | None = None,
    resource_id: str | None = None,
    tag: str | None = None,
) -> Response:
    """AGS line items container of a course (the caller's own items), paged by Link
    (`limit`, or `page` and `page_size`)."""
    caller = _caller(db, credentials, course_id, READ_ITEMS)
    items, total = ags.list_line_items(
        db,
        caller=caller,
        course_id=course_id,
        params=params,
        resource_link_id=resource_link_id,
        resource_id=resource_id,
        tag=tag,
    )
    content = [item.model_dump(exclude_none=True, mode="json") for item in items]
    return ims_page(request, params, content, total, c.MEDIA_LINEITEM_CONTAINER)


@router.post(
    "/{course_id}/lineitems",
    response_class=Response,
    status_code=status.HTTP_201_CREATED,
    responses={201: {"content": {c.MEDIA_LINEITEM: {}}, "description": "The new line item"}},
)
def create_line_item(
    course_id: uuid.UUID, body: LineItemBody, db: DbSession, credentials: Credentials
) -> Response:
    """Create an AGS line item in a course."""
    caller = _caller(db, credentials, course_id, (c.SCOPE_LINEITEM,))
    item = ags.create_line_item(db, caller=caller, course_id=course_id, body=body)
    return _line_item(item, status.HTTP_201_CREATED)


def _line_item(item: LineItemJson, status_code: int = 200) -> Response:
    return ims_response(
        item.model_dump(exclude_none=True, mode="json"), c.MEDIA_LINEITEM, status_code=status_code
    )


@_ims_get("/{course_id}/lineitems/{line_item_id}", c.MEDIA_LINEITEM)
def get_line_item(
    course_id: uuid.UUID, line_item_id: uuid.UUID, db: DbSession, credentials: Credentials
) -> Response:
    """One AGS line item."""
    caller = _caller(db, credentials, course_id, READ_ITEMS)
    item = ags.get_line_item(db, caller=caller, course_id=course_id, line_item_id=line_item_id)
    return _line_item(ags.line_item_json(item))


@router.put(
    "/{course_id}/lineitems/{line_item_id}",
    response_class=Response,
    responses={200: {"content": {c.MEDIA_LINEITEM: {}}, "description": "The line item"}},
)
def update_line_item(
    course_id: uuid.UUID,
    line_item_id: uuid.UUID,
    body: LineItemBody,
    db: DbSession,
    credentials: Credentials,
) -> Response:
    """Replace an AGS line item's properties."""
    caller = _caller(db, credentials, course_id, (c.SCOPE_LINEITEM,))
    item = ags.update_line_item(
        db, caller=caller, course_id=course_id, line_item_id=line_item_id, body=body
    )
    return _line_item(item)


@router.delete("/{course_id}/lineitems/{line_item_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_line_item(
    course_id: uuid.UUID, line_item_id: uuid.UUID, db: DbSession, credentials: Credentials
) -> None:
    """Delete an AGS line item and its results."""
    caller = _caller(db, credentials, course_id, (c.SCOPE_LINEITEM,))
    ags.delete_line_item(db, caller=caller, course_id=course_id, line_item_id=line_item_id)


@router.post("/{course_id}/lineitems/{line_item_id}/scores", status_code=status.HTTP_204_NO_CONTENT)
def post_score(
    course_id: uuid.UUID,
    line_item_id: uuid.UUID,
    body: ScoreBody,
    db: DbSession,
    credentials: Credentials,
) -> None:
    """Publish a user's score (application/vnd.ims.lis.v1.score+json); an older one than
    the stored score is ignored."""
    caller = _caller(db, credentials, course_id, (c.SCOPE_SCORE,))
    ags.post_score(db, caller=caller, course_id=course_id, line_item_id=line_item_id, body=body)


@_ims_get("/{course_id}/lineitems/{line_item_id}/results", c.MEDIA_RESULT_CONTAINER)
def list_results(
    course_id: uuid.UUID,
    line_item_id: uuid.UUID,
    request: Request,
    db: DbSession,
    credentials: Credentials,
    params: ImsPagination,
    user_id: str | None = None,
) -> Response:
    """The results of a line item, paged by Link (`limit`, or `page` and `page_size`)."""
    caller = _caller(db, credentials, course_id, (c.SCOPE_RESULT_READONLY,))
    results, total = ags.list_results(
        db,
        caller=caller,
        course_id=course_id,
        line_item_id=line_item_id,
        user_id=user_id,
        params=params,
    )
    content = [result.model_dump(exclude_none=True) for result in results]
    return ims_page(request, params, content, total, c.MEDIA_RESULT_CONTAINER)


@_ims_get("/{course_id}/memberships", c.MEDIA_MEMBERSHIP_CONTAINER)
def memberships(
    course_id: uuid.UUID,
    request: Request,
    db: DbSession,
    credentials: Credentials,
    params: ImsPagination,
    role: Annotated[str | None, Query(description="A role URI, or Learner / Instructor")] = None,
    rlid: Annotated[str | None, Query(description="A resource link id of the tool")] = None,
) -> Response:
    """NRPS membership container of a course, paged by Link rel="next"."""
    caller = _caller(db, credentials, course_id, (c.SCOPE_NRPS,))
    container, total = nrps.memberships(
        db, caller=caller, course_id=course_id, role=role, rlid=rlid, params=params
    )
    return ims_page(request, params, container, total, c.MEDIA_MEMBERSHIP_CONTAINER)
