"""End-to-end: `make run`'s own dev server (DynamoDB Local + chalice local) on free ports, stopped afterwards; one
Chromium per worker for every browser test."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
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
        yield DevServer(base, data, f"ws://127.0.0.1:{ws_port}")
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
    prompt is answered "allow" (the web app's device check); each test gets fresh contexts, closed after it."""
    launched = launch_chromium(playwright, FAKE_MEDIA, "--use-fake-ui-for-media-stream")
    yield launched
    launched.close()


@pytest.fixture(autouse=True)
def _closes_its_pages(request: pytest.FixtureRequest) -> Iterator[None]:
    """What a browser test opened (pages, contexts) is closed after it, pass or fail: a page left open would keep
    following live updates, and a shared browser would carry it into every later test."""
    yield
    if "browser" in request.fixturenames:
        for context in request.getfixturevalue("browser").contexts:
            context.close()
