"""Every patch the suite makes to botocore and moto, in one place, each with why. None changes what a call
answers: they stop the suite from paying again for work whose result cannot differ, and one makes moto (not
thread-safe) answer one request at a time.

`apply()` is called once per process by tests/conftest.py (the moto one lazily, on first use of moto's DynamoDB in
tests/moto_cloud.py, so that test runs that never use moto never import it).
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any

import botocore.compat
import botocore.hooks
import botocore.loaders
import botocore.session


def apply() -> None:
    """The botocore patches (idempotent)."""
    _one_data_loader()
    _cached_handler_signatures()
    _shared_event_alias_cache()


def _one_data_loader() -> None:
    """Every test builds fresh clients, and pynamodb a fresh botocore session per connection; each session would parse
    botocore's service and endpoint JSON again (about 1.8 s of a functional test's 2.6 s set-up when measured). The
    files are static, so all sessions share one loader (and its cache), as the clients of one session always do."""
    if not hasattr(botocore.session.create_loader, "cache_info"):
        botocore.session.create_loader = functools.lru_cache(maxsize=None)(botocore.loaders.create_loader)


_accepts_kwargs = functools.lru_cache(maxsize=None)(botocore.compat.accepts_kwargs)


def _cached_accepts_kwargs(func: object) -> bool:
    try:
        return _accepts_kwargs(getattr(func, "__func__", func))
    except TypeError:  # an unhashable callable
        return bool(botocore.compat.accepts_kwargs(func))


def _cached_handler_signatures() -> None:
    """Every botocore session registers about 300 built-in handlers, and every client copies them and adds its own.
    Each registration checks the handler's signature (`inspect.getfullargspec`): about a third of the functional
    tests' time before they kept their clients, and still paid by the integration tests, which make clients per
    test. The answer depends only on the handler's function, so one cache serves every session."""
    botocore.hooks.accepts_kwargs = _cached_accepts_kwargs


_aliased_names: dict[str, str] = {}
_aliaser_init = botocore.hooks.EventAliaser.__init__


def _aliaser_sharing_its_cache(
    self: botocore.hooks.EventAliaser, event_emitter: object, event_aliases: object = None
) -> None:
    _aliaser_init(self, event_emitter, event_aliases)
    if self._event_aliases == botocore.hooks.EVENT_ALIASES:  # botocore's own (copied into each client's emitter)
        self._alias_name_cache = _aliased_names


def _shared_event_alias_cache() -> None:
    """Each botocore session works out event-name aliases afresh (a cache per `EventAliaser`). The answer depends
    only on the event name and botocore's fixed alias table, so emitters with that table share one cache."""
    botocore.hooks.EventAliaser.__init__ = _aliaser_sharing_its_cache


class _TablesCopiedOncePerTransaction:
    """Stands in for the `copy` module inside `moto.dynamodb.models`. moto's TransactWriteItems keeps a copy of
    each table as its rollback backup, but copies a table again for every item that names it (a booking's twelve
    items copy the schedule table ten times); all copies are taken before any item is applied, so one per table is
    the same backup. Measured: the functional tests' CPU time falls by about 13 %. Nothing else changes."""

    def __init__(self) -> None:
        from moto.dynamodb.models.table import Table

        self._local = threading.local()
        self._table = Table

    def deepcopy(self, obj: Any, memo: dict[int, Any] | None = None) -> Any:
        copied: dict[int, Any] | None = getattr(self._local, "copied", None)
        if copied is None or not isinstance(obj, self._table):
            return copy.deepcopy(obj, memo)
        if id(obj) not in copied:
            copied[id(obj)] = copy.deepcopy(obj)
        return copied[id(obj)]

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def around(self, transact_write_items: Callable[..., Any]) -> Callable[..., Any]:
        def once_per_table(backend: Any, transact_items: Any) -> Any:
            self._local.copied = {}
            try:
                return transact_write_items(backend, transact_items)
            finally:
                self._local.copied = None

        return once_per_table


_MOTO_ONE_REQUEST_AT_A_TIME = threading.RLock()


def _one_request_at_a_time(process_request: Callable[..., Any]) -> Callable[..., Any]:
    def serialized(stubber: Any, request: Any) -> Any:
        with _MOTO_ONE_REQUEST_AT_A_TIME:
            return process_request(stubber, request)

    serialized.serialized = True  # type: ignore[attr-defined]
    return serialized


def moto_answers_one_request_at_a_time() -> None:
    """moto's backends are not thread-safe: a refused TransactWriteItems puts back the copies of whole tables it
    took before it started, erasing what another thread committed meanwhile. The app's sweeps call from 16
    threads, so a test of a sweep lost a write now and then (5 of 6 reminders reported sent). Here moto answers
    one request at a time, as DynamoDB's own answers are ordered; idempotent, applied on moto's first use."""
    from moto.core.botocore_stubber import BotocoreStubber

    if not getattr(BotocoreStubber.process_request, "serialized", False):
        BotocoreStubber.process_request = _one_request_at_a_time(BotocoreStubber.process_request)  # type: ignore[method-assign]


def moto_copies_each_table_once_per_transaction() -> None:
    """moto's patch (see `_TablesCopiedOncePerTransaction`); idempotent, applied on moto's first use."""
    from moto.dynamodb import models as dynamodb_models

    if not isinstance(vars(dynamodb_models)["copy"], _TablesCopiedOncePerTransaction):
        stand_in = _TablesCopiedOncePerTransaction()
        dynamodb_models.copy = stand_in  # type: ignore[attr-defined,assignment]
        backend = dynamodb_models.DynamoDBBackend
        backend.transact_write_items = stand_in.around(backend.transact_write_items)  # type: ignore[method-assign]
