"""The webhook sender's HTTP side without a network: name resolution is bounded, and its failures are OSErrors the
service records as a failed attempt."""

from __future__ import annotations

import socket
import threading

import pytest

from chalicelib.adapters.webhooks import HttpTransport


def test_a_look_up_that_hangs_fails_the_attempt_instead_of_holding_it():
    # GIVEN a resolver that never answers
    released = threading.Event()

    def hanging(*args, **kwargs):
        released.wait(30)
        return []

    transport = HttpTransport(resolver=hanging, resolve_timeout=0.05)
    # WHEN the sender resolves the receiver's host THEN it gives up with an OSError
    try:
        with pytest.raises(OSError, match="did not resolve in time"):
            transport.resolve("ehr.example", 443)
    finally:
        released.set()


def test_every_resolved_address_is_returned_once_and_resolver_errors_are_oserrors():
    def two(host, port, type):
        return [(socket.AF_INET, type, 6, "", ("93.184.216.34", port))] * 2 + [
            (socket.AF_INET6, type, 6, "", ("2606:2800::1", port, 0, 0))
        ]

    assert HttpTransport(resolver=two).resolve("ehr.example", 443) == ["93.184.216.34", "2606:2800::1"]

    def failing(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    with pytest.raises(OSError):
        HttpTransport(resolver=failing).resolve("nowhere.example", 443)
