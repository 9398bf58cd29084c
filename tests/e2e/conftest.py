"""End-to-end: `make run`'s own dev server (DynamoDB Local + chalice local) on free ports, stopped afterwards; one
Chromium per worker for every browser test."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import requests

from infra.local.dynamodb_local import ROOT, free_port
from tests.e2e.browsers import FAKE_MEDIA, launch_chromium


class DevServer(NamedTuple):
    base: str
    data: Path
    ws: str
    process_id: int = 0


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    port, ddb_port, ws_port, caldav_port = free_port(), free_port(), free_port(), free_port()
    data = tmp_path_factory.mktemp("dev-server")
    log = open(data / "server.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.local.dev_server",
            "--port",
            str(port),
            "--dynamodb-port",
            str(ddb_port),
            "--in-memory",
            "--data-dir",
            str(data),
            "--sweep-interval",
            "1",
            "--ws-port",
            str(ws_port),
            "--caldav-port",
            str(caldav_port),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240  # a busy shared machine starts Java slowly
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"dev server exited: {Path(data / 'server.log').read_text()[-2000:]}")
            try:
                # up, and done seeding: the demo doctor's own calendar is connected before "Ready:"
                if (
                    requests.get(f"{base}/health", timeout=1).status_code == 200
                    and b"Ready:" in (data / "server.log").read_bytes()
                ):
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("dev server did not come up")
            time.sleep(0.3)
        yield DevServer(base, data, f"ws://127.0.0.1:{ws_port}", process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def server(dev_server: DevServer) -> str:
    return dev_server.base


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    """The worker's Chromium, shared by every browser module (a launch costs about a second and a half on the
    2-core machine; each module launched its own). Camera and microphone are Chromium's fakes and its permission
    prompt is answered "allow" (the web app's device check); each test gets fresh contexts, closed after it.
    Every context's requests are followed (`InFlight`), so a failing test reports what was still unanswered."""
    launched = launch_chromium(playwright, FAKE_MEDIA, "--use-fake-ui-for-media-stream")
    IN_FLIGHT.follow(launched)
    yield launched
    launched.close()


class InFlight:
    """What the test's pages did that a failure should show: the requests they sent and had no answer to yet (with
    when each was sent), and what they logged as errors. A browser test that waits in vain reports them, with each
    page's text and the dev server's threads (SIGUSR1), to tell a page that never asked from a server that never
    answered."""

    def __init__(self) -> None:
        self.pending: dict[Any, tuple[float, str]] = {}
        self.errors: list[str] = []
        self.browser: Any = None

    def follow(self, browser: Any) -> None:
        self.browser = browser
        opened = browser.new_context

        def new_context(*args: Any, **kwargs: Any) -> Any:
            context = opened(*args, **kwargs)
            context.on("request", lambda r: self.pending.__setitem__(r, (time.monotonic(), f"{r.method} {r.url}")))
            context.on("requestfinished", lambda r: self.pending.pop(r, None))
            context.on("requestfailed", lambda r: self.pending.pop(r, None))
            context.on("console", self._logged)
            context.on("weberror", lambda e: self.errors.append(f"uncaught: {e.error}"))
            return context

        browser.new_context = new_context

    def _logged(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"{message.type}: {message.text}")

    def report(self) -> str:
        now = time.monotonic()
        lines = [f"{now - sent:6.1f} s  {what}" for sent, what in sorted(self.pending.values())]
        parts = ["\n".join(lines) or "nothing: every request the pages sent was answered"]
        parts += ["logged by the pages:", *(self.errors or ["nothing"])]
        for context in self.browser.contexts if self.browser is not None else ():
            for page in context.pages:
                with contextlib.suppress(Exception):  # a page already closed or crashed says so by its absence
                    parts += [f"-- {page.url}", page.inner_text("body", timeout=2000)[:3000]]
        return "\n".join(parts)

    def clear(self) -> None:
        self.pending.clear()
        self.errors.clear()


IN_FLIGHT = InFlight()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed end-to-end test carries what its pages were still waiting for and where the dev server's threads
    stood at that moment (its log gets their stacks)."""
    report: pytest.TestReport = yield
    if call.when == "call" and report.failed:
        if "browser" in getattr(item, "fixturenames", ()):
            report.sections.append(("what the pages were doing", IN_FLIGHT.report()))
        server = getattr(item, "funcargs", {}).get("dev_server")
        if isinstance(server, DevServer) and server.process_id:
            report.sections.append(("dev server threads", thread_dump(server)))
    return report


def thread_dump(server: DevServer) -> str:
    """Where the dev server's and its API process's threads stand (SIGUSR1: they print it to the server's log)."""
    log = server.data / "server.log"
    size = log.stat().st_size
    with contextlib.suppress(ProcessLookupError):
        os.kill(server.process_id, signal.SIGUSR1)
        time.sleep(1.0)
    return log.read_bytes()[size:].decode(errors="replace")[-20000:]


@pytest.fixture(autouse=True)
def _closes_its_pages(request: pytest.FixtureRequest) -> Iterator[None]:
    """What a browser test opened (pages, contexts) is closed after it, pass or fail: a page left open would keep
    following live updates, and a shared browser would carry it into every later test."""
    yield
    if "browser" in request.fixturenames:
        for context in request.getfixturevalue("browser").contexts:
            context.close()
        IN_FLIGHT.clear()
