"""The analytics aggregates of doctor-days, read from their day counters (written by each change's transaction:
`changes.count_day`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.errors import translated_errors
from chalicelib.adapters.dynamodb.models import Tables


class DynamoDayStats:
    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    def day_stats(self, doctor_id: str, days: Sequence[date]) -> dict[date, dict[str, int]]:
        """The analytics aggregates of a doctor's days: one BatchGetItem per 100 days."""
        from chalicelib.domain.analytics import STAT_FIELDS

        keys_by_pk = {keys.doctor_day_pk(doctor_id, d): d for d in days}
        found: dict[date, dict[str, int]] = {}
        with translated_errors():
            for item in self.tables.schedule.batch_get([(pk, keys.COUNTER_SK) for pk in keys_by_pk]):
                found[keys_by_pk[item.pk]] = {n: int(getattr(item, n) or 0) for n in STAT_FIELDS}
        return found
