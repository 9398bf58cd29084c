"""`make run`'s port check (infra/local/ports.py) against real sockets: a port whose last connections wait in
TIME_WAIT after a stop is free, as it is for the servers themselves; a port something listens on is not."""

from __future__ import annotations

import contextlib
import socket
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from infra.local.ports import busy_ports, port_in_use


def _listener(host: str = "127.0.0.1", port: int = 0, reuse: bool = True) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if reuse:  # as http.server, asyncio and DynamoDB Local bind
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen()
    return sock


@pytest.fixture
def port_after_a_stop() -> int:
    """A port whose server was stopped after it closed a connection itself: that connection waits in TIME_WAIT."""
    server = _listener()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server closes first, so its side of the connection is the one left waiting
    assert client.recv(1) == b""  # the client has seen the server's close
    client.close()
    server.close()
    return port


def test_a_port_left_in_time_wait_by_a_stopped_server_is_free(port_after_a_stop):
    # GIVEN the port is still taken for a plain bind (what the check did before): the waiting connection holds it
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as plain:
        with pytest.raises(OSError):
            plain.bind(("127.0.0.1", port_after_a_stop))
    # WHEN make run checks it
    # THEN it is free, and nothing is reported
    assert port_in_use(port_after_a_stop) is False
    assert busy_ports({"PORT": port_after_a_stop}) == []
    # AND the server make run starts there can indeed bind and listen (http.server sets SO_REUSEADDR)
    with HTTPServer(("127.0.0.1", port_after_a_stop), BaseHTTPRequestHandler) as server:
        assert server.server_address[1] == port_after_a_stop


@pytest.mark.parametrize(
    ("host", "reuse"),
    [("127.0.0.1", True), ("127.0.0.1", False), ("0.0.0.0", True)],  # noqa: S104
)
def test_a_port_something_listens_on_is_still_in_use(host, reuse):
    # GIVEN a server listening on the port (on loopback or on every address, with or without SO_REUSEADDR)
    with contextlib.closing(_listener(host, reuse=reuse)) as listening:
        port = listening.getsockname()[1]
        # WHEN make run checks it THEN it is in use, and the message names the variable that moves it
        assert port_in_use(port) is True
        assert busy_ports({"PORT": port}) == [
            f"port {port} is already in use (another `make run`?): set PORT=<a free port>."
        ]


def test_a_listening_port_with_connections_in_time_wait_beside_it_is_in_use(port_after_a_stop):
    # GIVEN a port with a waiting connection, where a new server now listens again
    with contextlib.closing(_listener(port=port_after_a_stop)):
        # THEN the listener counts
        assert port_in_use(port_after_a_stop) is True
