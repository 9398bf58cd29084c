"""`make run`'s server under a burst of clients and against malformed requests: every request gets an answer in
the contract's error shape (never a reset connection, a dropped connection or a gateway message)."""

from __future__ import annotations

import threading
from collections import Counter

import requests

from infra.local.tokens import demo_tokens
from tests.e2e.days import free_slots
from tests.e2e.patients import new_patient

TOKENS = demo_tokens()
STORM = 60


def storm_patient(n: int) -> str:
    return new_patient(f"P {n}", phone=None).token


def test_sixty_simultaneous_bookings_of_one_slot_get_one_201_and_59_409s(server: str):
    # GIVEN one free slot and 60 patients who each hold an open connection, released at once
    day, times = free_slots(server, TOKENS["patient"], "dr-carmen-ruiz")
    body = {"doctorId": "dr-carmen-ruiz", "date": day, "time": times[0], "type": "in-person", "reason": "storm"}
    barrier = threading.Barrier(STORM)
    outcomes: list[object] = []

    def book(n: int) -> None:
        headers = {"Authorization": storm_patient(n), "Content-Type": "application/json"}
        barrier.wait()
        try:
            answer = requests.post(f"{server}/api/appointments", json=body, headers=headers, timeout=60)
            outcomes.append((answer.status_code, answer.json()["error"]["code"] if answer.status_code >= 400 else ""))
        except requests.RequestException as exc:  # a reset or a refused connection: what must not happen
            outcomes.append(type(exc).__name__)

    # WHEN all 60 book it at the same moment
    threads = [threading.Thread(target=book, args=(n,)) for n in range(STORM)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # THEN exactly one booking lands, every other client hears 409 SLOT_UNAVAILABLE, and nobody sees a reset
    assert Counter(outcomes) == {(201, ""): 1, (409, "SLOT_UNAVAILABLE"): STORM - 1}


def test_malformed_authorization_headers_get_401_in_the_contract_shape(server: str):
    for header in ("not-a-token", "", "a.b.c", "Bearer x.y.z", "x..", "e30.bm90IGpzb24.", TOKENS["patient"] + "x.y"):
        # WHEN a protected route is called with a header that is not a JWT
        answer = requests.get(f"{server}/api/doctors", headers={"Authorization": header}, timeout=10)
        # THEN 401 UNAUTHENTICATED, as JSON, and the header is never echoed
        assert answer.status_code == 401, (header, answer.text)
        assert answer.json()["error"]["code"] == "UNAUTHENTICATED"
        assert not header or header not in answer.text


def test_unknown_paths_are_404_and_unknown_methods_405_with_allow(server: str):
    secret = TOKENS["patient"]
    for headers in ({}, {"Authorization": secret}, {"Authorization": "not-a-token"}):
        # WHEN a path that does not exist is asked for, with or without a token
        answer = requests.get(f"{server}/api/no-such-thing", headers=headers, timeout=10)
        # THEN 404 NOT_FOUND in the contract's shape, echoing nothing
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "NOT_FOUND"
        assert "Authorization" not in answer.text and secret not in answer.text
    for method in ("TRACE", "DELETE", "PATCH", "FOO"):
        # WHEN a known path is called with a method it does not serve
        answer = requests.request(method, f"{server}/api/doctors", headers={"Authorization": secret}, timeout=10)
        # THEN 405 METHOD_NOT_ALLOWED naming the allowed methods
        assert answer.status_code == 405, (method, answer.text)
        assert answer.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
        assert answer.headers["Allow"] == "GET"


def test_the_gateways_own_answers_carry_the_security_headers_the_apps_answers_carry(server: str):
    # GIVEN the headers an answer of the app itself carries (a JSON answer that passed through the app)
    from chalicelib.api.headers import JSON_SECURITY_HEADERS

    app_answer = requests.get(f"{server}/health", timeout=10)
    assert app_answer.status_code == 200
    expected = {name: app_answer.headers[name] for name in JSON_SECURITY_HEADERS}
    # WHEN the local gateway answers by itself: a token that is not a JWT, a path the API lacks, a method no one
    # serves, and a protected route without a token
    answers = {
        401: requests.get(f"{server}/api/doctors", headers={"Authorization": "not-a-token"}, timeout=10),
        404: requests.get(f"{server}/api/no-such-thing", timeout=10),
        405: requests.request("TRACE", f"{server}/api/doctors", timeout=10),
    }
    for status, answer in answers.items():
        assert answer.status_code == status, answer.text
        # THEN each carries the same security headers, and is not stored
        assert {name: answer.headers.get(name) for name in JSON_SECURITY_HEADERS} == expected, status
        assert answer.headers["Cache-Control"] == "no-store"
