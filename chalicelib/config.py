"""Settings read once from the environment (set per stage in .chalice/config.json and template.yaml)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Settings:
    region: str
    dynamodb_endpoint: str | None
    doctors_table: str
    appointments_table: str
    schedule_table: str
    audit_table: str
    idempotency_table: str
    min_notice: timedelta
    patient_change_window: timedelta
    idempotency_ttl_seconds: int

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        prefix = env.get("TABLE_PREFIX", "clinic-dev")
        return cls(
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            dynamodb_endpoint=env.get("DYNAMODB_ENDPOINT") or None,
            doctors_table=env.get("DOCTORS_TABLE", f"{prefix}-doctors"),
            appointments_table=env.get("APPOINTMENTS_TABLE", f"{prefix}-appointments"),
            schedule_table=env.get("SCHEDULE_TABLE", f"{prefix}-schedule"),
            audit_table=env.get("AUDIT_TABLE", f"{prefix}-audit"),
            idempotency_table=env.get("IDEMPOTENCY_TABLE", f"{prefix}-idempotency"),
            min_notice=timedelta(minutes=int(env.get("MIN_NOTICE_MINUTES", "60"))),
            patient_change_window=timedelta(minutes=int(env.get("PATIENT_CHANGE_WINDOW_MINUTES", "120"))),
            idempotency_ttl_seconds=int(env.get("IDEMPOTENCY_TTL_SECONDS", "86400")),
        )
