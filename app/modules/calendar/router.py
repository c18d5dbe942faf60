"""Calendar routes under `/calendar`: the caller's events, and their secret iCalendar feed."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response, status
from pydantic import AwareDatetime

from app.core.dependencies import DbSession
from app.core.pagination import Page, Pagination
from app.core.routing import APIRouter
from app.modules.calendar import service
from app.modules.calendar.schemas import CalendarEvent, FeedTokenRead
from app.modules.users.dependencies import CurrentUser

router = APIRouter(tags=["calendar"])


@router.get("/calendar/events", response_model=Page[CalendarEvent])
def list_events(
    db: DbSession,
    user: CurrentUser,
    params: Pagination,
    start: Annotated[
        AwareDatetime, Query(alias="from", description="Window start (inclusive), with offset")
    ],
    end: Annotated[
        AwareDatetime, Query(alias="to", description="Window end (exclusive), with offset")
    ],
) -> Page[CalendarEvent]:
    """List the caller's due, lock and release dates in a window of at most 366 days."""
    return service.list_events(db, user=user, start=start, end=end, params=params)


@router.post(
    "/calendar/feed-token", response_model=FeedTokenRead, status_code=status.HTTP_201_CREATED
)
def rotate_feed_token(db: DbSession, user: CurrentUser) -> FeedTokenRead:
    """Create the caller's secret calendar-feed URL, replacing (and killing) any earlier one."""
    return service.rotate_feed_token(db, user=user)


@router.delete("/calendar/feed-token", status_code=status.HTTP_204_NO_CONTENT)
def delete_feed_token(db: DbSession, user: CurrentUser) -> Response:
    """Turn the caller's calendar feed off: its URL stops working (204 also when none)."""
    service.delete_feed_token(db, user=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/calendar/feed/{token}.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}, "description": "An RFC 5545 calendar"}},
)
def feed(token: str, db: DbSession) -> Response:
    """The iCalendar feed of the token's owner (no Authorization header: the URL is the key)."""
    return Response(
        content=service.feed(db, token=token),
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, no-cache"},
    )
