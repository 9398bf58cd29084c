"""What a person sees of `make run` itself: where the two pages are once it answers, room links that open this
server's own room page, and a quiet terminal when a browser goes away mid-answer."""

from __future__ import annotations

import socket
import struct
import time
from urllib.parse import urlsplit

import requests

from tests.e2e.days import free_slots
from tests.e2e.patients import new_patient


def server_log(dev_server) -> str:
    return (dev_server.data / "server.log").read_text(encoding="utf-8", errors="replace")


def wait_for_log(dev_server, text: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = server_log(dev_server)
        if text in log:
            return log
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared in make run's output")


def settled(dev_server, before: str, quiet: float = 1.0, timeout: float = 15.0) -> str:
    """What the server printed after `before`, once it has printed nothing new for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    seen = server_log(dev_server)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = server_log(dev_server)
        if now == seen:
            break
        seen = now
    return seen[len(before) :]


def test_make_run_prints_where_the_app_and_the_console_are_once_it_answers(dev_server):
    # GIVEN make run's server answering WHEN its output is read THEN it names both pages' addresses
    log = wait_for_log(dev_server, "Clinic console:")
    assert f"Patient web app:  {dev_server.base}/\n" in log
    assert f"Clinic console:   {dev_server.base}/console" in log
    # AND both addresses serve their pages
    assert "Book a visit · Clinic</title>" in requests.get(f"{dev_server.base}/", timeout=10).text
    assert "Clinic console" in requests.get(f"{dev_server.base}/console", timeout=10).text


def test_a_room_link_points_at_this_server_and_opens_the_web_app(dev_server):
    # GIVEN a video visit booked on make run's server
    pat = new_patient()
    day, times = free_slots(dev_server.base, pat.token, "dr-ada-smith")
    body = {"doctorId": "dr-ada-smith", "date": day, "time": times[0], "type": "telehealth", "reason": "review"}
    made = requests.post(f"{dev_server.base}/api/appointments", json=body, headers=pat.headers, timeout=10)
    assert made.status_code == 201, made.text
    # THEN its link is a room page of this server (not the deployed default), which serves the web app
    link = made.json()["telehealthUrl"]
    assert link.startswith(f"{dev_server.base}/rooms/"), link
    page = requests.get(link, timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert '<script type="module" src="/app.js">' in page.text
    # AND the signed link (with its token) is one too
    signed = requests.post(
        f"{dev_server.base}/api/telehealth/generate-url/{made.json()['id']}", headers=pat.headers, timeout=10
    )
    if signed.status_code == 201:  # only inside the join window; the visit is days ahead
        assert urlsplit(signed.json()["url"]).path == urlsplit(link).path


def test_a_client_that_disconnects_mid_answer_prints_no_traceback(dev_server):
    port = urlsplit(dev_server.base).port
    assert port is not None
    before = server_log(dev_server)
    # GIVEN clients that ask for a large answer and reset the connection before reading it
    for _ in range(5):
        client = socket.create_connection(("127.0.0.1", port), timeout=10)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        client.close()
    # WHEN the server has tried to answer all five and its output has settled
    deadline = time.monotonic() + 30
    while server_log(dev_server)[len(before) :].count('"GET /openapi.json') < 5:
        assert time.monotonic() < deadline, "the server never answered the five requests"
        time.sleep(0.2)
    added = settled(dev_server, before)
    # THEN make run's terminal shows no traceback for them
    assert "Traceback" not in added and "Exception occurred" not in added, added[-2000:]
