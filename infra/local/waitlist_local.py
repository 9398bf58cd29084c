"""The waitlist under `make run`: the appointments table's stream on DynamoDB Local feeds the same offer consumer the
`waitlist_offers` Lambda runs (polled every 0.2-0.6 s, so a cancellation's first offer goes out within a second or
two), and a sweep thread does what the `waitlist_sweep` schedule does in AWS (lapsed holds, ended windows)."""

from __future__ import annotations

import threading
from typing import Any

from infra.local.webhooks_local import RecordPoller


class WaitlistSweeper(threading.Thread):
    def __init__(self, interval: float = 30.0) -> None:
        super().__init__(name="waitlist-sweep", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        from chalicelib.api.waitlist import run_waitlist_sweep

        while not self.stopped.wait(self.interval):
            try:
                report = run_waitlist_sweep()
                if any(report.values()):
                    print(f"waitlist sweep: {report}", flush=True)
            except Exception as exc:  # keep sweeping; show what went wrong
                print(f"waitlist sweep failed: {exc!r}", flush=True)


def offer_and_tell(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The Lambda's work on one batch, with a line on the console when something was offered."""
    from chalicelib.api.waitlist import offer_records

    report = offer_records(records)
    if report.get("offered") or report.get("explained"):
        print(f"waitlist: {report}", flush=True)
    return report


class LocalWaitlist:
    """The stream poller and the sweep, started together and stopped by one event (make run's own)."""

    def __init__(self, endpoint: str, appointments_table: str, stopped: threading.Event) -> None:
        self.poller = RecordPoller(endpoint, appointments_table, offer_and_tell, interval=0.2)
        self.poller.name = "waitlist-stream"
        self.sweeper = WaitlistSweeper()
        self.poller.stopped = stopped
        self.sweeper.stopped = stopped

    def start(self) -> LocalWaitlist:
        self.poller.start()
        self.sweeper.start()
        return self
