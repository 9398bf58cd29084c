"""The local API server `make run` starts: Chalice's own local gateway, made to answer like the deployed one.

`chalice local` listens with a backlog of 5 (a burst of clients sees connection resets), drops the connection
on an `Authorization` header that is not a JWT, and answers unknown paths and methods in API Gateway's shapes
(403 "Missing Authentication Token", echoing the header; 501 for TRACE). Here the same app runs behind a
gateway that answers those in the contract's error shape, as the deployed stack's gateway responses do.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import faulthandler
import json
import logging
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    ForbiddenError,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    LocalGatewayException,
    NotAuthorizedError,
    RouteMatcher,
    ThreadedHTTPServer,
)

from chalicelib.api.headers import JSON_SECURITY_HEADERS
from chalicelib.api.method_guard import allowed_methods

BACKLOG = 128
"""Connections the listening socket queues while every thread is busy (Python's default is 5)."""

log = logging.getLogger("clinic.local")


def error_payload(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A gateway answer in the contract's error shape (the same body the app and the gateway responses send), with
    the security headers the app's own answers carry."""
    return {
        "statusCode": status,
        "headers": {
            "Content-Type": "application/json",
            "Cache-Control": "no-store",
            **JSON_SECURITY_HEADERS,
            **(headers or {}),
        },
        "multiValueHeaders": {},
        "body": json.dumps({"error": {"code": code, "message": message}}),
    }


def is_decodable_jwt(value: str) -> bool:
    """Three dot-separated base64url parts whose middle one is a JSON object: what a Cognito authorizer parses."""
    parts = value.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        return False
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        return isinstance(json.loads(payload), dict)
    except (binascii.Error, ValueError):
        return False


class ContractGateway(LocalGateway):
    """Chalice's local gateway, answering what the deployed gateway answers in the contract's shape."""

    def __init__(self, app_object: Chalice, config: Config) -> None:
        super().__init__(app_object, config)
        self._app = app_object
        self._matcher = RouteMatcher(list(app_object.routes))

    def handle_request(self, method: str, path: str, headers: dict[str, Any], body: bytes | None) -> dict[str, Any]:
        try:
            route = self._matcher.match_route(path).route
        except ValueError:
            return error_payload(404, "NOT_FOUND", "There is no such path in this API.")
        methods = self._app.routes[route]
        if method not in methods:
            return self._method_not_allowed(method, methods)
        token = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        if token is not None and methods[method].authorizer is not None and not is_decodable_jwt(token):
            return error_payload(401, "UNAUTHENTICATED", "The Authorization header is not a valid token.")
        try:
            return super().handle_request(method, path, headers, body)
        except NotAuthorizedError:
            return error_payload(401, "UNAUTHENTICATED", "Sign in to use this API.")
        except ForbiddenError:
            return error_payload(403, "FORBIDDEN", "You may not do this.")
        except LocalGatewayException:
            return error_payload(500, "INTERNAL_ERROR", "Something went wrong on our side.")

    def _method_not_allowed(self, method: str, methods: dict[str, Any]) -> dict[str, Any]:
        # The app registers a 405 view for every standard method a path lacks (see api/method_guard.py), so
        # only methods API Gateway does not know (TRACE, CONNECT, made-up ones) arrive here.
        allowed = ", ".join(allowed_methods(methods))
        return error_payload(405, "METHOD_NOT_ALLOWED", f"{method} is not supported on this path.", {"Allow": allowed})


class ContractRequestHandler(ChaliceRequestHandler):
    """Every method reaches the gateway (no 501), and a failure never drops the connection unanswered."""

    def __init__(self, request: Any, client_address: Any, server: HTTPServer, app_object: Chalice, config: Config):
        self.local_gateway = ContractGateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # BaseHTTPRequestHandler looks up do_<METHOD>; any method is ours to answer
            return self._generic_handle
        raise AttributeError(name)

    def _generic_handle(self) -> None:
        try:
            super()._generic_handle()
        except (BrokenPipeError, ConnectionResetError):
            raise
        except Exception:  # our bug: answer it in the contract's shape rather than closing the connection
            log.exception("local gateway failed on %s %s", self.command, self.path.split("?")[0])
            failed = error_payload(500, "INTERNAL_ERROR", "Something went wrong on our side.")
            self._send_http_response(failed["statusCode"], failed["headers"], failed["body"])


class BacklogServer(ThreadedHTTPServer):
    request_queue_size = BACKLOG

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that goes away mid-answer (a closed tab, a reload, a dropped poll) is not an error worth a
        traceback in `make run`'s terminal; anything else still prints one."""
        if isinstance(sys.exc_info()[1], ConnectionError):  # BrokenPipe, ConnectionReset, ConnectionAborted
            return
        super().handle_error(request, client_address)


def create_server(host: str, port: int, stage: str) -> LocalDevServer:
    """Loads the app as `chalice local` does (stage environment from .chalice/config.json) and binds."""
    from chalice.cli import validate_routes
    from chalice.cli.factory import CLIFactory

    from infra.local.dynamodb_local import ROOT

    factory = CLIFactory(project_dir=str(ROOT), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    app_obj = config.chalice_app
    validate_routes(app_obj.routes)
    CustomLocalChalice.__bases__ = (LocalChalice, app_obj.__class__)  # thread-local current_request
    app_obj.__class__ = CustomLocalChalice
    return LocalDevServer(app_obj, config, host, port, handler_cls=ContractRequestHandler, server_cls=BacklogServer)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stage", default="dev")
    parser.add_argument(
        "--calendars",
        action="store_true",
        help="also run the calendar sync's schedule and visits out (make run: they need this process's passwords)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    # `kill -USR1` prints where every thread stands (a request that never answers, a lock never let go)
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    server = create_server(args.host, args.port, args.stage)
    if args.calendars:
        from infra.local.caldav_local import LocalCalendars

        LocalCalendars.from_env().start()
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
