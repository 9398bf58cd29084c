"""Webhooks under `make run`: the appointments, reminders and waitlist tables' streams on DynamoDB Local feed the same
fan-out the `webhook_fanout` Lambda runs, and a sender thread does what the SQS-fed sender and the sweep do in
AWS (every `interval` seconds: queue what is due, send it). Receivers on loopback are allowed locally."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

from infra.local.realtime_server import StreamPoller, database_clock


class RecordPoller(StreamPoller):
    """A StreamPoller that hands the raw records (typed images) to `handle` instead of the slot publisher."""

    def __init__(self, endpoint: str, table: str, handle: Any, interval: float = 0.3) -> None:
        super().__init__(endpoint, table, None, interval=interval)  # type: ignore[arg-type]
        self.name = f"webhook-stream-{table}"
        self._handle = handle

    def _stream_arn(self) -> str:
        described = self._tables.describe_table(TableName=self._table)
        arn = described["Table"].get("LatestStreamArn")
        if not described["Table"].get("StreamSpecification", {}).get("StreamEnabled") or not arn:
            # a table made before it streamed (data kept under .data/): turn its stream on
            answer = self._tables.update_table(
                TableName=self._table,
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            )
            arn = answer["TableDescription"]["LatestStreamArn"]
        self._since = database_clock(described) - 120
        return str(arn)

    def run(self) -> None:
        arn = self._stream_arn()
        self._discover(arn)
        last_discovery = time.monotonic()
        wait = self._interval
        while not self.stopped.wait(wait):
            try:
                if time.monotonic() - last_discovery > 10:
                    self._discover(arn)
                    last_discovery = time.monotonic()
                records: list[dict[str, Any]] = []
                for shard_id, iterator in list(self._iterators.items()):
                    if iterator is not None:
                        records.extend(self._read(arn, shard_id, iterator))
                if records:
                    self._handle(records)
                wait = self._interval if records else min(wait * 1.5, self._idle_interval)
            except Exception as exc:  # keep following; show what went wrong
                print(f"webhook stream poller ({self._table}): {exc!r}", flush=True)


class WebhookSender(threading.Thread):
    def __init__(self, interval: float = 0.5) -> None:
        super().__init__(name="webhook-sender", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()

    @staticmethod
    def send_due() -> dict[str, Any]:
        """One round: queue what is due and send it. What the API process queued (a resend, a resume) waits in that
        process's own queue, which nothing drains: it is taken from the table at once, not after the sweep's grace
        (WebhookService.sweep)."""
        from chalicelib import container
        from chalicelib.api.webhooks import run_webhook_sweep

        container.current().webhooks.sweep(grace=timedelta(0))
        return run_webhook_sweep()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                report = self.send_due()
                if report.get("attempted"):
                    print(f"webhooks: {report}", flush=True)
            except Exception as exc:  # keep sending; show what went wrong
                print(f"webhook sender failed: {exc!r}", flush=True)


class LocalWebhooks:
    """The streams' pollers (appointments, reminders and, when named, the waitlist) and the sender, started together
    and stopped by one event (make run's own)."""

    def __init__(
        self,
        endpoint: str,
        appointments_table: str,
        reminders_table: str,
        stopped: threading.Event,
        waitlist_table: str | None = None,
    ) -> None:
        from chalicelib.api.webhooks import fan_out_records

        tables = [appointments_table, reminders_table, *([waitlist_table] if waitlist_table else [])]
        self.pollers = [RecordPoller(endpoint, table, fan_out_records) for table in tables]
        self.sender = WebhookSender()
        for poller in self.pollers:
            poller.stopped = stopped
        self.sender.stopped = stopped

    def start(self) -> LocalWebhooks:
        for poller in self.pollers:
            poller.start()
        self.sender.start()
        return self
