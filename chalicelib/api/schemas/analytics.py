"""The admins' analytics over a range of days.

No `from __future__ import annotations` (see the package's docstring): a model refers only to models defined above
it or imported."""

from typing import Literal

from pydantic import Field, field_validator

from chalicelib.api.schemas.common import WINDOW_NOTE, Day, Id, OutModel, QueryModel, _window_to


class AnalyticsQuery(QueryModel):
    date_from: Day = Field(alias="from")
    date_to: Day = Field(alias="to", description=WINDOW_NOTE)
    doctor_id: Id | None = Field(None, alias="doctorId")

    window_ok = field_validator("date_to")(_window_to)


class AnalyticsDayOut(OutModel):
    date: Day
    bookings: int
    cancellations: int
    reschedules: int
    completions: int
    no_shows: int


class AnalyticsDoctorOut(OutModel):
    doctor_id: str
    name: str
    booked_minutes: int
    available_minutes: int
    utilization: float | None = Field(description="booked / available minutes; null when nothing was available")


class LeadTimeOut(OutModel):
    bookings: int
    average_hours: float | None


class ChannelDeliveryOut(OutModel):
    sent: int
    failed: int
    delivery_rate: float | None


class AnalyticsOut(OutModel):
    """Per-day event counts, per-doctor utilization, booking lead time and reminder delivery over a range."""

    date_from: Day = Field(alias="from")
    date_to: Day = Field(alias="to")
    days: list[AnalyticsDayOut]
    doctors: list[AnalyticsDoctorOut]
    lead_time: LeadTimeOut
    reminders: dict[Literal["email", "sms", "push"], ChannelDeliveryOut]
