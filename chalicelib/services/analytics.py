"""The admin analytics report: per-day events, utilization per doctor, lead time and reminder delivery, read
from the doctor-day aggregates (one BatchGetItem per doctor and up to 100 days; no scan)."""

from __future__ import annotations

from datetime import date

from chalicelib.domain.analytics import MAX_DAYS, DoctorDayStats, Report, days_between, report
from chalicelib.domain.errors import InvalidInput, NotFound
from chalicelib.services.ports.appointments import DayStats
from chalicelib.services.ports.doctors import DoctorRepository


class AnalyticsService:
    def __init__(self, doctors: DoctorRepository, store: DayStats) -> None:
        self._doctors = doctors
        self._store = store

    def report(self, start: date, end: date, doctor_id: str | None = None) -> Report:
        if end < start:
            raise InvalidInput("`to` must not be before `from`.", {"fields": {"to": "before from"}})
        days = days_between(start, end)
        if len(days) > MAX_DAYS:
            raise InvalidInput(f"A report covers at most {MAX_DAYS} days.", {"fields": {"to": "range too long"}})
        if doctor_id:
            doctor = self._doctors.get(doctor_id)
            if doctor is None:
                raise NotFound("No such doctor.", {"doctorId": doctor_id})
            doctors = [doctor]
        else:
            doctors = self._doctors.list_all()
        stats: dict[tuple[str, date], DoctorDayStats] = {}
        for doctor in doctors:
            for day, values in self._store.day_stats(doctor.id, days).items():
                stats[(doctor.id, day)] = DoctorDayStats(values)
        return report(start, end, [(d.id, d.name, d.schedule, d.zone) for d in doctors], stats)
