"""A doctor-day's slots: the availability query and its answer (also the WebSocket's slot updates).

No `from __future__ import annotations` (see the package's docstring): a model refers only to models defined above
it or imported."""

from typing import Annotated

from pydantic import Field

from chalicelib.api.schemas.common import Instant, LocalDate, Minutes, OutModel, QueryModel


class AvailabilityQuery(QueryModel):
    duration: Minutes | None = None
    only_available: bool = Field(False, alias="onlyAvailable")


class SlotOut(OutModel):
    """One offered start. In a fall-back hour two slots can share `time`; `startsAt` and `utcOffset` tell them
    apart, and booking such a time needs the slot's `startsAt`."""

    local_time: str = Field(alias="time")
    local_end_time: str = Field(alias="endTime")
    available: bool
    starts_at: Instant
    utc_offset: Annotated[str, Field(pattern=r"^[+-]\d{2}:\d{2}$")]


class DayAvailabilityOut(OutModel):
    doctor_id: str
    date: LocalDate
    timezone: str
    duration: int
    durations: list[int] = Field(
        description="The visit lengths (minutes) a patient may book: the doctor's default length and the ones it "
        "offers; ask for a length's slots with `?duration=`. Staff may book other lengths."
    )
    version: str
    slots: list[SlotOut]
