"""The caller's calendar: dated events of their courses, as JSON pages or an iCalendar feed.

Rules:
- Events are the due and lock dates of quizzes and assignments, the courses' release
  (publication) dates, and when sections and items open (their release dates), from the
  courses the caller teaches (every item, its own dates) and studies (active or completed
  enrollment; what a student may see, their own extensions and start applied).
- A window is `from <= starts_at < to`, `from` not after `to` and at most
  `MAX_WINDOW_DAYS` long (422 otherwise).
- The feed URL carries a random secret; only its SHA-256 is stored. Asking for a feed
  token again replaces the old one (its URL answers 404 from then on); a wrong token or a
  deactivated owner answers 404. The feed holds the owner's events from `FEED_PAST_DAYS`
  ago to `FEED_AHEAD_DAYS` ahead.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from icalendar import Calendar, Event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import utcnow
from app.core.errors import BusinessRuleViolation, Conflict, NotFound
from app.core.pagination import Page, PageParams, paginate_rows
from app.modules.calendar import repository
from app.modules.calendar.models import CalendarFeedToken
from app.modules.calendar.schemas import CalendarEvent, EventKind, FeedTokenRead
from app.modules.users.models import User

MAX_WINDOW_DAYS = 366
FEED_PAST_DAYS = 90
FEED_AHEAD_DAYS = 366

SUMMARIES = {
    EventKind.ASSIGNMENT_DUE: "{title}: assignment due",
    EventKind.ASSIGNMENT_LOCK: "{title}: assignment closes",
    EventKind.QUIZ_DUE: "{title}: quiz due",
    EventKind.QUIZ_LOCK: "{title}: quiz closes",
    EventKind.COURSE_RELEASE: "{title}: course released",
    EventKind.SECTION_RELEASE: "{title}: section opens",
    EventKind.LESSON_RELEASE: "{title}: lesson opens",
    EventKind.QUIZ_RELEASE: "{title}: quiz opens",
    EventKind.ASSIGNMENT_RELEASE: "{title}: assignment opens",
    EventKind.LTI_RELEASE: "{title}: activity opens",
}
# An event kind is "<item kind>_<date>"; the item's page in the frontend, under its course.
ITEM_PATHS = {
    "assignment": "/assignments/{id}",
    "quiz": "/quizzes/{id}",
    "lesson": "/lessons/{id}",
    "lti": "/activities/{id}",
    "section": "/sections/{id}",
    "course": "",
}


class InvalidWindow(BusinessRuleViolation):
    code = "invalid_calendar_window"


class FeedNotFound(NotFound):
    code = "calendar_feed_not_found"


def item_url(course_slug: str, item_kind: str, item_id: uuid.UUID) -> str:
    frontend = get_settings().FRONTEND_URL.rstrip("/")
    return f"{frontend}/courses/{course_slug}" + ITEM_PATHS[item_kind].format(id=item_id)


def _event(row: Any) -> CalendarEvent:
    kind = EventKind(row.kind)
    return CalendarEvent(
        uid=f"{kind.value}-{row.item_id}@lms",
        kind=kind,
        item_id=row.item_id,
        course_id=row.course_id,
        course_title=row.course_title,
        title=row.title,
        starts_at=row.starts_at,
        url=item_url(row.course_slug, kind.value.split("_", 1)[0], row.item_id),
    )


def list_events(
    db: Session, *, user: User, start: datetime, end: datetime, params: PageParams
) -> Page[CalendarEvent]:
    if start > end:
        raise InvalidWindow("`from` must not be after `to`")
    if end - start > timedelta(days=MAX_WINDOW_DAYS):
        raise InvalidWindow(f"The window may span at most {MAX_WINDOW_DAYS} days")
    rows, total = paginate_rows(db, repository.events_between(user.id, start, end), params)
    return Page[CalendarEvent].build([_event(row) for row in rows], total, params)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(token: str) -> str:
    return f"{get_settings().PUBLIC_BASE_URL.rstrip('/')}/api/v1/calendar/feed/{token}.ics"


def rotate_feed_token(db: Session, *, user: User) -> FeedTokenRead:
    """A new secret feed URL for the caller; the previous one stops working."""
    token = secrets.token_urlsafe(32)
    row = repository.feed_token_of(db, user.id)
    if row is None:
        row = CalendarFeedToken(user_id=user.id, token_hash=_hash(token))
        try:
            with db.begin_nested():
                db.add(row)
                db.flush()
        except IntegrityError as exc:
            raise Conflict(
                "A feed token was created at the same time; ask again", code="feed_token_conflict"
            ) from exc
    else:
        row.token_hash, row.created_at = _hash(token), utcnow()
        db.flush()
    return FeedTokenRead(url=feed_url(token), token=token, created_at=row.created_at)


def delete_feed_token(db: Session, *, user: User) -> None:
    """Remove the caller's feed token, if any: the feed URL answers 404 from now on."""
    repository.delete_feed_token(db, user.id)


def feed(db: Session, *, token: str) -> bytes:
    """The iCalendar (RFC 5545) document of the token's owner."""
    owner = repository.feed_owner(db, _hash(token))
    if owner is None:
        raise FeedNotFound("Calendar feed not found")
    now = utcnow()
    statement = repository.events_between(
        owner.id, now - timedelta(days=FEED_PAST_DAYS), now + timedelta(days=FEED_AHEAD_DAYS)
    )
    calendar = Calendar()
    calendar.add("prodid", "-//LMS//Course calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Courses")
    for row in db.execute(statement):
        event = _event(row)
        vevent = Event()
        vevent.add("uid", event.uid)
        vevent.add("dtstamp", now)
        vevent.add("dtstart", event.starts_at)
        vevent.add("summary", SUMMARIES[event.kind].format(title=event.title))
        vevent.add("description", event.course_title)
        vevent.add("url", event.url)
        calendar.add_component(vevent)
    return bytes(calendar.to_ical())
