"""The periodic reminder sweep, three jobs each on its own: deliver overdue reminders (their schedule was lost),
re-create the missing schedules of upcoming ones, and fail reminders stuck in `sending` (never resent: a crash
may have come after the send)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from chalicelib.domain.contact import redact
from chalicelib.domain.reminders import EPOCH, OUTCOME_UNKNOWN, Reminder, ReminderStatus
from chalicelib.services.ports.reminders import ReminderQueue
from chalicelib.services.ports.system import Clock
from chalicelib.services.reminders.schedules import ReminderSchedules

if TYPE_CHECKING:
    from chalicelib.services.reminders.dispatch import Prefetched

log = logging.getLogger("clinic.reminders")
READ_BATCH = 100
"""Reminders whose appointments and patients the sweep reads in one BatchGetItem each (its per-call maximum)."""


@dataclass(frozen=True)
class SweepPolicy:
    grace: timedelta = timedelta(seconds=60)
    """A due reminder is left to its own schedule this long before the sweep delivers it."""
    lookahead: timedelta = timedelta(hours=1)
    """Schedules of pending reminders due within this window are (re)created if missing."""
    stuck_after: timedelta = timedelta(minutes=15)
    batch: int = 500
    concurrency: int = 16
    """Reminders delivered at once by one sweep (each is its own claim, send and write)."""
    budget_seconds: float = 120.0
    """The reminders' share of a sweep run; rooms come after, with their own."""


@dataclass
class SweepReport:
    delivered: dict[str, int] = field(default_factory=dict)
    schedules_ensured: int = 0
    stuck_failed: int = 0
    errors: int = 0
    deferred: int = 0


class Dispatches(Protocol):
    """The lone dispatch the sweep delivers through, with the reminder as its query read it (the claim is
    conditioned on it, and reserves the patient's message of the day as a lone dispatch's does) and what it read
    for a chunk in batches."""

    def dispatch(
        self,
        reminder_id: str,
        prefetched: Prefetched | None = None,
        patient_id: str | None = None,
        seen: Reminder | None = None,
    ) -> str: ...

    def prefetch(self, reminders: Sequence[Reminder]) -> Prefetched: ...


def by_appointment(reminders: Sequence[Reminder], most: int = 16) -> list[list[Reminder]]:
    """The reminders of one visit together (one worker delivers them in turn, so each conditions on the version
    the one before left), at most `most` in a group so that no single visit holds a sweep back."""
    groups: dict[str, list[list[Reminder]]] = {}
    for reminder in reminders:
        runs = groups.setdefault(reminder.appointment_id, [[]])
        if len(runs[-1]) >= most:
            runs.append([])
        runs[-1].append(reminder)
    return [group for runs in groups.values() for group in runs]


class ReminderSweep:
    """One run of the sweep. Each reminder on its own: one that raises is counted and the rest go on; the run
    stops delivering and re-creating schedules when its time budget is spent (the next run picks up the rest)."""

    def __init__(
        self,
        reminders: ReminderQueue,
        schedules: ReminderSchedules,
        clock: Clock,
        dispatcher: Dispatches,
        policy: SweepPolicy,
    ) -> None:
        self._reminders = reminders
        self._schedules = schedules
        self._clock = clock
        self._dispatcher = dispatcher
        self._policy = policy

    def run(self, timer: Callable[[], float] = time.monotonic) -> SweepReport:
        now = self._clock.now()
        report = SweepReport()
        deadline = timer() + self._policy.budget_seconds
        self.deliver_overdue(now, report, lambda: timer() >= deadline)
        self.recreate_missing_schedules(now, report, lambda: timer() >= deadline)
        self.fail_stuck(now, report)
        return report

    def deliver_overdue(self, now: datetime, report: SweepReport, spent: Callable[[], bool]) -> None:
        """Overdue pending reminders, a few at a time, a chunk's visits and patients read in batches first."""
        policy = self._policy

        def deliver(reminder: Reminder, prefetched: Prefetched | None) -> str:
            if spent():
                return "deferred"
            try:
                return self._dispatcher.dispatch(reminder.id, prefetched, seen=reminder)
            except Exception:
                log.exception("sweep: reminder %s raised; the others go on", reminder.id)
                return "error"

        overdue = self._reminders.by_status(ReminderStatus.PENDING, EPOCH, now - policy.grace, policy.batch)
        groups = by_appointment(overdue)
        outcomes: list[str] = []
        with ThreadPoolExecutor(max_workers=max(1, policy.concurrency)) as pool:
            for first in range(0, len(groups), READ_BATCH):  # one chunk at a time: its batch read stays fresh
                chunk = groups[first : first + READ_BATCH]
                prefetched = self._prefetch([r for group in chunk for r in group]) if not spent() else None
                for done in pool.map(lambda group: [deliver(r, prefetched) for r in group], chunk):  # noqa: B023
                    outcomes.extend(done)
        for outcome in outcomes:
            if outcome == "deferred":
                report.deferred += 1
            elif outcome == "error":
                report.errors += 1
            else:
                report.delivered[outcome] = report.delivered.get(outcome, 0) + 1

    def _prefetch(self, reminders: Sequence[Reminder]) -> Prefetched | None:
        """The chunk's appointments and patients; if the batch read fails, each dispatch reads its own."""
        try:
            return self._dispatcher.prefetch(reminders)
        except Exception:
            log.exception("sweep: the batch read of %d reminders failed; each reads its own", len(reminders))
            return None

    def recreate_missing_schedules(self, now: datetime, report: SweepReport, spent: Callable[[], bool]) -> None:
        """Pending reminders due within the lookahead whose schedule is known to be missing get it again."""
        policy = self._policy
        for reminder in self._reminders.by_status(ReminderStatus.PENDING, now, now + policy.lookahead, policy.batch):
            if reminder.schedule_missing and not spent():
                self._schedules.ensure(reminder)
                report.schedules_ensured += 1

    def fail_stuck(self, now: datetime, report: SweepReport) -> None:
        """Reminders left in `sending` past `stuck_after` are failed as an unknown outcome, each on its own."""
        stuck_before = now - self._policy.stuck_after
        for reminder in self._reminders.by_status(ReminderStatus.SENDING, EPOCH, stuck_before, self._policy.batch):
            if reminder.updated_at > stuck_before:
                continue
            reason = f"{OUTCOME_UNKNOWN} (dispatcher stopped while sending)"
            failed = replace(reminder, status=ReminderStatus.FAILED, last_error=redact(reason)[:500], updated_at=now)
            try:
                self._reminders.finish(failed, mark_appointment_reminded=False)
                report.stuck_failed += 1
            except Exception:
                log.exception("sweep: could not fail stuck reminder %s", reminder.id)
                report.errors += 1
