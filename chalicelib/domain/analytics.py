"""Clinic analytics from per-doctor-day aggregates that every change updates in its own transaction, so a
report reads a fixed number of small items per doctor and day, whatever the number of appointments.

The day of an event is the appointment's local date (the clinic day it concerns)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from chalicelib.domain.schedule import Availability, working_intervals

EVENT_COUNTERS = ("n_booked", "n_cancelled", "n_rescheduled", "n_completed", "n_no_show")
CHANNELS = ("email", "sms", "push")
STAT_FIELDS = (
    *EVENT_COUNTERS,
    "booked_minutes",
    "lead_minutes",
    "lead_count",
    *(f"sent_{c}" for c in CHANNELS),
    *(f"failed_{c}" for c in CHANNELS),
)
MAX_DAYS = 92


@dataclass
class DoctorDayStats:
    values: dict[str, int] = field(default_factory=dict)

    def get(self, name: str) -> int:
        return int(self.values.get(name, 0))


@dataclass(frozen=True)
class DayCounts:
    """Appointment events of one clinic day, all doctors of the report."""

    date: date
    bookings: int
    cancellations: int
    reschedules: int
    completions: int
    no_shows: int


@dataclass(frozen=True)
class DoctorUse:
    doctor_id: str
    name: str
    booked_minutes: int
    available_minutes: int
    utilization: float | None
    """booked / available minutes; None when nothing was available."""


@dataclass(frozen=True)
class LeadTime:
    bookings: int
    average_hours: float | None


@dataclass(frozen=True)
class Delivery:
    sent: int
    failed: int
    delivery_rate: float | None


@dataclass(frozen=True)
class Report:
    date_from: date
    date_to: date
    days: list[DayCounts]
    doctors: list[DoctorUse]
    lead_time: LeadTime
    reminders: dict[str, Delivery]
    """Per channel, in CHANNELS order."""


def available_minutes(availability: Availability, zone: ZoneInfo, day: date) -> int:
    """Working minutes that day (breaks cut out; holidays have none)."""
    if day in availability.holidays:
        return 0
    return int(sum((end - start).total_seconds() for start, end in working_intervals(availability, day, zone)) // 60)


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def report(
    start: date,
    end: date,
    doctors: list[tuple[str, str, Availability, ZoneInfo]],
    stats: Mapping[tuple[str, date], DoctorDayStats],
) -> Report:
    """The report for doctors `(id, name, availability, zone)` and their day aggregates."""
    days = days_between(start, end)
    per_day = []
    for day in days:
        totals = {
            name: sum(stats.get((d[0], day), DoctorDayStats()).get(name) for d in doctors) for name in EVENT_COUNTERS
        }
        per_day.append(
            DayCounts(
                date=day,
                bookings=totals["n_booked"],
                cancellations=totals["n_cancelled"],
                reschedules=totals["n_rescheduled"],
                completions=totals["n_completed"],
                no_shows=totals["n_no_show"],
            )
        )
    per_doctor = []
    lead_minutes = lead_count = 0
    channels = {c: {"sent": 0, "failed": 0} for c in CHANNELS}
    for doctor_id, name, availability, zone in doctors:
        booked = available = 0
        for day in days:
            day_stats = stats.get((doctor_id, day), DoctorDayStats())
            booked += day_stats.get("booked_minutes")
            available += available_minutes(availability, zone, day)
            lead_minutes += day_stats.get("lead_minutes")
            lead_count += day_stats.get("lead_count")
            for channel in CHANNELS:
                channels[channel]["sent"] += day_stats.get(f"sent_{channel}")
                channels[channel]["failed"] += day_stats.get(f"failed_{channel}")
        per_doctor.append(
            DoctorUse(
                doctor_id=doctor_id,
                name=name,
                booked_minutes=booked,
                available_minutes=available,
                utilization=round(booked / available, 4) if available else None,
            )
        )
    reminders = {
        channel: Delivery(
            sent=counts["sent"],
            failed=counts["failed"],
            delivery_rate=round(counts["sent"] / (counts["sent"] + counts["failed"]), 4)
            if counts["sent"] + counts["failed"]
            else None,
        )
        for channel, counts in channels.items()
    }
    return Report(
        date_from=start,
        date_to=end,
        days=per_day,
        doctors=per_doctor,
        lead_time=LeadTime(
            bookings=lead_count,
            average_hours=round(lead_minutes / lead_count / 60, 2) if lead_count else None,
        ),
        reminders=reminders,
    )
