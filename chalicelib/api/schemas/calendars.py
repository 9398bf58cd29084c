"""The doctors' calendar feed (iCalendar subscription links), and a doctor's own calendars: connecting one,
its sync state, the copies of the visits written into it, and the conflicts its busy times make.

No `from __future__ import annotations` (see the package's docstring): a model refers only to models defined above
it or imported."""

from typing import Annotated, Literal

from pydantic import Field

from chalicelib.api.schemas.common import ApiModel, Instant, OutModel, QueryModel, ShortText, absent


class FeedQuery(QueryModel):
    token: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class FeedLinkOut(OutModel):
    token: str
    path: str


class FeedRevokedOut(OutModel):
    revoked: bool


class CalendarCreate(ApiModel):
    kind: Literal["ics", "caldav"]
    url: Annotated[str, Field(min_length=8, max_length=2048)] = Field(
        description="https:// or webcal:// (http only to loopback under `make run`); no credentials in it"
    )
    username: Annotated[ShortText, Field(max_length=200)] | None = Field(None, description="CalDAV only")
    password: Annotated[str, Field(min_length=1, max_length=500)] | None = Field(
        None, description="CalDAV app password: write-only, kept encrypted, never shown again"
    )
    write_visits: bool = Field(False, description="CalDAV only: write each booked visit into this calendar")


class CalendarPatch(ApiModel):
    state: Literal["active", "paused"]


class VisitCopyOut(OutModel):
    """A booked visit's event in this calendar: `written` (at the visit's current version), `deleted` (the visit was
    cancelled), `pending` (to be written by the next sync: connected after it was booked, or paused), or `failed`
    (the server's answer in plain words; tried again at `retryAt`)."""

    appointment_id: str
    state: Literal["pending", "written", "deleted", "failed"]
    error: str | None = Field(default=None, exclude_if=absent, description="Why it failed, in plain words")
    retry_at: Instant | None = Field(default=None, exclude_if=absent, description="Its next attempt")
    attempts: int = Field(description="Failed attempts in a row (0 once written)")
    updated_at: Instant = Field(description="When this state was recorded")
    starts_at: Instant | None = Field(default=None, exclude_if=absent, description="The visit's start")


class CalendarOut(OutModel):
    id: str
    doctor_id: str
    kind: Literal["ics", "caldav"]
    url: str
    state: Literal["active", "paused", "failing"]
    write_visits: bool
    last_sync_at: Instant | None = Field(default=None, exclude_if=absent, description="The busy times' age")
    next_sync_at: Instant | None = Field(default=None, exclude_if=absent)
    last_error: str | None = Field(default=None, exclude_if=absent, description="In plain words")
    busy_intervals: int = Field(description="Busy intervals from today to the booking horizon")
    truncated: bool = Field(description="The calendar held more than one sync reads (instances or time capped)")
    created_at: Instant
    visits: list[VisitCopyOut] = Field(
        description="With writeVisits: each visit's event in this calendar, of visits not over for a day yet and"
        " every failed or pending one"
    )


class CalendarList(OutModel):
    calendars: list[CalendarOut]


class ConflictOut(OutModel):
    appointment_id: str
    calendar_id: str
    start: Instant
    end: Instant


class ConflictList(OutModel):
    conflicts: list[ConflictOut]
