"""Checks that the ports `make run` needs are free before anything is installed, started or seeded.

Standard library only, so the Makefile can run it with the machine's Python before the virtualenv exists:
`python3 -m infra.local.ports PORT=8000 DYNAMODB_PORT=8001 WS_PORT=8002`.
"""

from __future__ import annotations

import contextlib
import socket
import sys


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server of `make run` could not listen on the port. Checked the way those servers bind: with
    `SO_REUSEADDR`, as `http.server`/`socketserver` (the API), asyncio (the WebSocket) and DynamoDB Local do, so the
    connections of a stopped run still in TIME_WAIT (up to a minute) do not count, while a listener does. A
    connection that is accepted counts too: where `SO_REUSEADDR` lets a socket bind beside a listener on the
    wildcard address (BSD, macOS), the bind alone would miss it."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.settimeout(2)
        if probe.connect_ex((host, port)) == 0:
            return True
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def busy_ports(wanted: dict[str, int]) -> list[str]:
    """One line per port that cannot be used, naming the variable that moves it."""
    problems: list[str] = []
    seen: dict[int, str] = {}
    for variable, port in wanted.items():
        if port in seen:
            problems.append(f"{variable}={port} is the same port as {seen[port]}: set {variable} to another port.")
        elif not 0 < port < 65536:
            problems.append(f"{variable}={port} is not a port number: set {variable} to one between 1 and 65535.")
        elif port_in_use(port):
            problems.append(f"port {port} is already in use (another `make run`?): set {variable}=<a free port>.")
        seen.setdefault(port, variable)
    return problems


def main(argv: list[str]) -> int:
    wanted: dict[str, int] = {}
    for arg in argv:
        variable, _, value = arg.partition("=")
        try:
            wanted[variable] = int(value)
        except ValueError:
            print(f"make run: {variable}={value!r} is not a port number.", file=sys.stderr)
            return 2
    problems = busy_ports(wanted)
    for problem in problems:
        print(f"make run: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
