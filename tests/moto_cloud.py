"""One moto cloud for a worker's functional tests (and the store contract suite's moto runs), with the clients a
Lambda container would keep.

Starting moto, making a botocore session and making a client (copying about 300 event hooks) cost more than most
functional tests do. A Lambda container makes its clients once and reuses them across invocations; so does a test
worker here: moto starts once, every boto3 client (`adapters.aws.client`) and every table binding
(`models.bind`) is made once per configuration. Each test still starts on an empty cloud (every moto service
reset, the tables copied empty) and with each client's event hooks as they were made: hooks a test registers
end with it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import botocore.hooks
from moto import mock_aws
from moto.core.base_backend import BackendDict
from moto.core.model_instances import reset_model_data
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from chalicelib.adapters import aws
from chalicelib.adapters.dynamodb import models
from chalicelib.adapters.dynamodb.idempotency import create_idempotency_table
from chalicelib.config import Settings
from tests import patches


class _TrackedEvents(botocore.hooks.EventAliaser):  # type: ignore[misc]
    """A kept client's event hooks, which note when a test adds or removes one (so only those are restored)."""

    changed = False

    def register(self, *args: Any, **kwargs: Any) -> None:
        self.changed = True
        super().register(*args, **kwargs)

    def register_first(self, *args: Any, **kwargs: Any) -> None:
        self.changed = True
        super().register_first(*args, **kwargs)

    def register_last(self, *args: Any, **kwargs: Any) -> None:
        self.changed = True
        super().register_last(*args, **kwargs)

    def unregister(self, *args: Any, **kwargs: Any) -> Any:
        self.changed = True
        return super().unregister(*args, **kwargs)


class KeptClients:
    """The worker's clients and bindings, made on first use and kept; `restore()` undoes a test's hooks."""

    def __init__(self, make_client: Callable[..., Any], bind: Callable[[Settings], models.Tables]) -> None:
        self._make_client = make_client
        self._bind = bind
        self._clients: dict[tuple[Any, ...], Any] = {}
        self._bindings: dict[tuple[str, ...], models.Tables] = {}
        self._as_made: list[tuple[_TrackedEvents, Any]] = []

    def client(self, service: str, region: str, **options: Any) -> Any:
        key = (service, region, *sorted(options.items()))
        if key not in self._clients:
            self._clients[key] = self._keep(self._make_client(service, region, **options))
        return self._clients[key]

    def bind(self, settings: Settings) -> models.Tables:
        key = (settings.region, str(settings.dynamodb_endpoint), *models.table_names(settings).values())
        if key not in self._bindings:
            tables = self._bind(settings)
            for made in tables.botocore_clients():  # made now, so their hooks are kept as pynamodb made them
                self._keep(made)
            self._bindings[key] = tables
        return self._bindings[key]

    def _keep(self, client: Any) -> Any:
        events = client.meta.events
        events.__class__ = _TrackedEvents
        self._as_made.append((events, copy.copy(events._emitter)))
        return client

    def restore(self) -> None:
        for events, as_made in self._as_made:
            if events.changed:
                events._emitter = copy.copy(as_made)
                events.changed = False


_EMPTY_TABLES: dict[tuple[str, ...], dict[str, Any]] = {}
"""The empty tables moto made once per configuration; each test gets a copy of its own."""


def fresh_tables(settings: Settings) -> None:
    """Every table, empty, in this test's moto. Made through pynamodb once per worker (describe, create, wait for
    each of ten tables), then copied: a test sees exactly what it would after creating them."""
    patches.apply_to_moto()
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][settings.region]
    names = (settings.region, *sorted(value for name, value in vars(settings).items() if name.endswith("_table")))
    if names not in _EMPTY_TABLES:
        models.create_tables(settings)
        create_idempotency_table(settings, aws.client("dynamodb", settings.region))
        _EMPTY_TABLES[names] = copy.deepcopy(backend.tables)
    backend.tables = copy.deepcopy(_EMPTY_TABLES[names])


@contextmanager
def worker_cloud() -> Iterator[KeptClients]:
    """moto for the worker's whole run, with the adapters' clients and bindings kept (see the module's text)."""
    patches.apply_to_moto()
    kept = KeptClients(aws.client, models.bind)
    with mock_aws():
        aws.client, models.bind = kept.client, kept.bind
        try:
            yield kept
        finally:
            aws.client, models.bind = kept._make_client, kept._bind  # type: ignore[assignment]


def empty_cloud(kept: KeptClients) -> None:
    """What a fresh `mock_aws()` starts with: every service empty; and the kept clients' hooks as made."""
    BackendDict.reset()
    reset_model_data()
    kept.restore()
