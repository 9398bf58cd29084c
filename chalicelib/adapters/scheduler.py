"""EventBridge Scheduler one-time schedules, one per pending reminder, invoking the reminder dispatcher."""

from __future__ import annotations

import json
import uuid
from functools import cached_property
from typing import Any

from chalicelib.config import Settings
from chalicelib.domain.reminders import Reminder


class EventBridgeReminderScheduler:
    """`at(...)` in UTC in our schedule group, `ActionAfterCompletion: DELETE`, a retry policy and an SQS
    dead-letter queue; `ClientToken` makes a repeated create for the same reminder and time a no-op."""

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self._given = client
        self._settings = settings

    @cached_property
    def _client(self) -> Any:
        """Made on the first schedule, not at cold start."""
        if self._given is not None:
            return self._given
        from chalicelib.adapters import aws

        return aws.client("scheduler", self._settings.region)

    def botocore_clients(self) -> list[Any]:
        """The botocore client it schedules with (tests hook faults and counts onto its events)."""
        return [self._client]

    def _definition(self, reminder: Reminder) -> dict[str, Any]:
        s = self._settings
        target: dict[str, Any] = {
            "Arn": s.reminder_function_arn,
            "RoleArn": s.scheduler_role_arn,
            # the patient too: the dispatcher's claim reserves one of the patient's messages of the day with it
            "Input": json.dumps({"reminderId": reminder.id, "patientId": reminder.patient_id}),
            "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600},
        }
        if s.reminder_dlq_arn:
            target["DeadLetterConfig"] = {"Arn": s.reminder_dlq_arn}
        return {
            "Name": reminder.schedule_name,
            "GroupName": s.schedule_group,
            "ScheduleExpression": f"at({reminder.scheduled_time.strftime('%Y-%m-%dT%H:%M:%S')})",
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": target,
            "ActionAfterCompletion": "DELETE",
            "State": "ENABLED",
            "Description": "Appointment reminder",
        }

    def ensure(self, reminder: Reminder) -> None:
        definition = self._definition(reminder)
        token = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{reminder.id}@{definition['ScheduleExpression']}"))
        try:
            self._client.create_schedule(**definition, ClientToken=token)
        except self._client.exceptions.ConflictException:
            self._client.update_schedule(**definition)

    def delete(self, reminder: Reminder) -> None:
        """Deleting a schedule that already fired (and deleted itself) is not an error."""
        try:
            self._client.delete_schedule(Name=reminder.schedule_name, GroupName=self._settings.schedule_group)
        except self._client.exceptions.ResourceNotFoundException:
            return


class NoScheduler:
    """Local runs: no EventBridge; the sweep (run each minute by `make run`) delivers due reminders."""

    def ensure(self, reminder: Reminder) -> None:
        return None

    def delete(self, reminder: Reminder) -> None:
        return None
