"""`make run`: DynamoDB Local (data kept under .data/), tables, the demo clinic, the local API (Chalice's local
gateway answering like the deployed one, see api_server.py), the reminder
sweep every minute delivering into `.data/outbox/` (one readable file per e-mail, SMS or push), and the
slot-updates WebSocket on a loopback port, fed by the appointments table's stream, as are the webhooks and the
waitlist's offers (infra/local/waitlist_local.py); and Radicale, a CalDAV server holding the demo doctor's own
calendar, connected to her so its busy time takes her slots and her visits are written into it (the calendar sync's
schedule and the visits-out stream consumer run in the API's process, which holds the app passwords:
infra/local/caldav_local.py).

Ctrl-C stops everything this started.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from chalicelib.services.realtime import RealtimeService
from infra.local.caldav_local import DEMO_USER, LocalRadicale, connect_demo_calendar
from infra.local.dynamodb_local import ROOT, DynamoDBLocal
from infra.local.ports import busy_ports
from infra.local.realtime_server import LocalSocketHub, StreamPoller
from infra.local.tokens import DEMO_IDENTITIES, demo_tokens
from infra.local.waitlist_local import LocalWaitlist
from infra.local.webhooks_local import LocalWebhooks


def local_env(
    endpoint: str, outbox: Path, ws_port: int, signing_key: str, prefix: str = "clinic-dev", port: int = 8000
) -> dict[str, str]:
    """What the app needs to talk to DynamoDB Local (fake credentials: DynamoDB Local ignores them); room links
    point at this server's own room page."""
    return {
        "DYNAMODB_ENDPOINT": endpoint,
        "TABLE_PREFIX": prefix,
        "DOCTORS_TABLE": f"{prefix}-doctors",
        "APPOINTMENTS_TABLE": f"{prefix}-appointments",
        "SCHEDULE_TABLE": f"{prefix}-schedule",
        "AUDIT_TABLE": f"{prefix}-audit",
        "IDEMPOTENCY_TABLE": f"{prefix}-idempotency",
        "REMINDERS_TABLE": f"{prefix}-reminders",
        "PATIENTS_TABLE": f"{prefix}-patients",
        "DELIVERY_MODE": "outbox",
        "OUTBOX_DIR": str(outbox),
        "SCHEDULER_MODE": "none",
        "SWEEP_GRACE_SECONDS": "0",
        "REALTIME_TABLE": f"{prefix}-realtime",
        "SIGNING_KEY": signing_key,
        "WEBSOCKET_URL": f"ws://127.0.0.1:{ws_port}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "DEV_SIGN_IN": dev_sign_in(),
        "WEBHOOK_ALLOW_LOOPBACK": "true",  # receivers on this machine, over http too; a deployed stack refuses them
    }


def dev_sign_in() -> str:
    """The demo patients the web app offers as "sign in as" locally (unsigned tokens; never valid in AWS)."""
    tokens = demo_tokens()
    users = [
        {"label": claims["name"], "token": tokens[role]}
        for role, claims in DEMO_IDENTITIES.items()
        if "patients" in claims.get("cognito:groups", ())
    ]
    return json.dumps(users)


def prepare(env: dict[str, str], seed_demo: bool) -> list[str]:
    """Create the tables and seed the demo clinic (both idempotent)."""
    os.environ.update(env)
    import boto3

    from chalicelib import container
    from chalicelib.adapters.dynamodb import models
    from chalicelib.adapters.dynamodb.idempotency import create_idempotency_table
    from chalicelib.config import Settings
    from infra.local.seed import seed

    settings = Settings.from_env()
    models.create_tables(settings)
    create_idempotency_table(
        settings, boto3.client("dynamodb", region_name=settings.region, endpoint_url=settings.dynamodb_endpoint)
    )
    return seed(container.build(settings)) if seed_demo else []


def local_realtime(hub: LocalSocketHub) -> RealtimeService:
    """The same RealtimeService the Lambdas use, with the local hub as its sender."""
    from chalicelib import container
    from chalicelib.adapters.dynamodb.models import bind
    from chalicelib.adapters.dynamodb.subscriptions import DynamoSubscriptionStore
    from chalicelib.adapters.realtime import StaticKey
    from chalicelib.api.schemas.realtime import live_message

    wired = container.build()
    return RealtimeService(
        DynamoSubscriptionStore(bind(wired.settings)),
        hub,
        wired.booking_queries,
        StaticKey(os.environ["SIGNING_KEY"]),
        wired.clock,
        encode=live_message,
    )


def follow_streams(endpoint: str, env: dict[str, str], stopped: threading.Event) -> None:
    """The streams' other followers, as their Lambdas in AWS: the webhook fan-out and sender, the waitlist's offers."""
    waitlist = env.get("WAITLIST_TABLE", f"{env['TABLE_PREFIX']}-waitlist")
    LocalWebhooks(endpoint, env["APPOINTMENTS_TABLE"], env["REMINDERS_TABLE"], stopped, waitlist).start()
    LocalWaitlist(endpoint, env["APPOINTMENTS_TABLE"], stopped).start()


class Sweeper(threading.Thread):
    """Runs the reminder sweep every `interval` seconds: locally it is what fires reminders."""

    def __init__(self, interval: float) -> None:
        super().__init__(name="reminder-sweep", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        from chalicelib import container

        reminders = container.build().dispatcher
        while not self.stopped.wait(self.interval):
            try:
                report = reminders.sweep()
                if report.delivered:
                    print(f"reminder sweep: {report.delivered}", flush=True)
            except Exception as exc:  # keep sweeping; show what went wrong
                print(f"reminder sweep failed: {exc!r}", flush=True)


def wait_until_up(base: str, api: subprocess.Popen[bytes], timeout: float = 120.0) -> bool:
    """True once the API answers `/health`; False if it exited or stayed silent for `timeout` seconds."""
    from urllib.error import URLError
    from urllib.request import urlopen

    deadline = time.monotonic() + timeout
    while api.poll() is None and time.monotonic() < deadline:
        try:
            with urlopen(f"{base}/health", timeout=1) as answer:  # noqa: S310 (our own loopback address)
                if answer.status == 200:
                    return True
        except (URLError, OSError):
            pass
        time.sleep(0.3)
    return False


def demo_calendar(base: str, radicale: LocalRadicale, wanted: bool = True) -> None:
    """Connects the demo doctor's own calendar (Radicale) through the API; a failure is said, not fatal."""
    if not wanted:  # make run SEED=0: no demo clinic, no demo calendar
        return
    try:
        if not radicale.wait():
            raise RuntimeError(f"Radicale did not start (see {radicale.folder / 'radicale.log'})")
        radicale.fill_demo_calendar()
        made = connect_demo_calendar(base, demo_tokens()["admin"], radicale)
        print(
            f"Dr. Ada Smith's own calendar (CalDAV, Radicale): {radicale.calendar_url}  user {DEMO_USER} password"
            f" {radicale.password}; its {made['busyIntervals']} busy times (weekdays 13:00-14:00) take her slots",
            flush=True,
        )
    except Exception as exc:  # make run goes on without it
        print(f"The demo calendar was not connected: {exc!r}", flush=True)


def ready_banner(port: int, radicale: LocalRadicale | None = None, demo: bool = False) -> str:
    """What `make run` prints once it answers: where a person opens the two pages (once the demo doctor's own
    calendar, when there is one, is connected)."""
    if radicale is not None:
        demo_calendar(f"http://127.0.0.1:{port}", radicale, wanted=demo)
    base = f"http://127.0.0.1:{port}"
    return "\n".join(
        [
            "Ready:",
            f"  Patient web app:  {base}/",
            f"  Clinic console:   {base}/console  (sign in with ADMIN_TOKEN above)",
            f"  API reference:    {base}/openapi.json",
        ]
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--dynamodb-port", type=int, default=8001)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".data")
    parser.add_argument("--in-memory", action="store_true", help="keep no data (tests)")
    parser.add_argument("--no-seed", action="store_true")
    parser.add_argument("--sweep-interval", type=float, default=60.0, help="seconds between reminder sweeps")
    parser.add_argument("--ws-port", type=int, default=8002, help="the local slot-updates WebSocket")
    parser.add_argument("--caldav-port", type=int, default=8003, help="Radicale, the demo doctor's own calendar")
    return parser.parse_args(argv)


def ports_taken(args: argparse.Namespace) -> bool:
    wanted = {"PORT": args.port, "DYNAMODB_PORT": args.dynamodb_port, "WS_PORT": args.ws_port}
    problems = busy_ports({**wanted, "CALDAV_PORT": args.caldav_port})
    for problem in problems:
        print(f"make run: {problem}", file=sys.stderr, flush=True)
    return bool(problems)


def dump_threads_on_usr1(api: Callable[[], subprocess.Popen[bytes] | None]) -> None:
    """`kill -USR1`: where every thread of this process and of the API process stands, into the log (what a
    request that never answers is waiting on; the end-to-end tests ask for it when one fails)."""

    def dump(*_: object) -> None:
        faulthandler.dump_traceback(all_threads=True)
        child = api()
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGUSR1)

    signal.signal(signal.SIGUSR1, dump)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if ports_taken(args):  # before anything starts or is seeded: one clear line per port
        return 1

    args.data_dir.mkdir(parents=True, exist_ok=True)
    radicale = LocalRadicale(args.caldav_port, args.data_dir / "radicale").start()  # comes up beside DynamoDB Local
    ddb = DynamoDBLocal(
        port=args.dynamodb_port,
        db_path=None if args.in_memory else args.data_dir / "dynamodb",
        log_path=args.data_dir / "dynamodb-local.log",
    ).start()
    api: subprocess.Popen[bytes] | None = None
    sweeper = Sweeper(args.sweep_interval)
    hub = LocalSocketHub(port=args.ws_port)
    poller: StreamPoller | None = None

    def shutdown(*_: object) -> None:
        sweeper.stopped.set()
        radicale.stop()
        hub.stop()
        if poller is not None:
            poller.stopped.set()
        if api and api.poll() is None:
            api.terminate()
            try:
                api.wait(timeout=10)
            except subprocess.TimeoutExpired:
                api.kill()
        ddb.stop()

    def on_term(*_: object) -> None:
        shutdown()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_term)
    dump_threads_on_usr1(lambda: api)
    try:
        env = local_env(ddb.endpoint, args.data_dir / "outbox", args.ws_port, secrets.token_urlsafe(32), port=args.port)
        added = prepare(env, seed_demo=not args.no_seed)
        sweeper.start()
        realtime = local_realtime(hub)
        hub.start(realtime)
        poller = StreamPoller(ddb.endpoint, env["APPOINTMENTS_TABLE"], realtime)
        poller.start()
        follow_streams(ddb.endpoint, env, poller.stopped)
        print(f"DynamoDB Local on {ddb.endpoint}; seeded: {', '.join(added) or 'nothing new'}", flush=True)
        api = subprocess.Popen(
            [sys.executable, "-m", "infra.local.api_server", "--port", str(args.port), "--stage", "dev", "--calendars"],
            cwd=ROOT,
            env={**os.environ, **env},
        )
        print(f"API on http://127.0.0.1:{args.port}  (Ctrl-C stops everything)", flush=True)
        print(
            f"Reminders are swept every {args.sweep_interval:g} s into {args.data_dir / 'outbox'}",
            f"Slot updates: ws://127.0.0.1:{args.ws_port}/?ticket=<POST /api/realtime/ticket>",
            sep="\n",
            flush=True,
        )
        print("Development tokens (unsigned; chalice local decodes them):", flush=True)
        for role, tok in demo_tokens().items():
            print(f"  export {role.upper()}_TOKEN={tok}", flush=True)
        if wait_until_up(f"http://127.0.0.1:{args.port}", api):
            print(ready_banner(args.port, radicale, demo=not args.no_seed), flush=True)
        while api.poll() is None:
            time.sleep(0.5)
        return api.returncode or 0
    except KeyboardInterrupt:
        return 0
    finally:
        shutdown()


if __name__ == "__main__":
    sys.exit(main())
