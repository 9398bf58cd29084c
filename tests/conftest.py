"""Test-wide settings: fake AWS credentials, a quiet local Powertools, and one botocore data loader."""

from __future__ import annotations

import functools
import os

import botocore.compat
import botocore.hooks
import botocore.loaders
import botocore.session
import pytest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SECURITY_TOKEN", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ["AWS_REGION"] = "us-east-1"
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ClinicBookingTest")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

# Every test builds fresh clients, and pynamodb a fresh botocore session per connection; each session would parse
# botocore's service and endpoint JSON again (about 1.8 s of a functional test's 2.6 s set-up). The files are
# static, so all sessions share one loader (and its cache), as the clients of one session always do.
botocore.session.create_loader = functools.lru_cache(maxsize=None)(botocore.loaders.create_loader)

# Every botocore session registers about 300 built-in handlers, and every client copies them and adds its own. Each
# registration checks the handler's signature (`inspect.getfullargspec`) and each session works out event-name
# aliases afresh: about a third of the functional tests' time before they kept their clients, and still paid by the
# integration tests, which make clients per test. Both answers depend only on the handler's function and on the
# event name, so one cache serves every session, as one long-lived session would.
_accepts_kwargs = functools.lru_cache(maxsize=None)(botocore.compat.accepts_kwargs)


def _cached_accepts_kwargs(func: object) -> bool:
    try:
        return _accepts_kwargs(getattr(func, "__func__", func))
    except TypeError:  # an unhashable callable
        return bool(botocore.compat.accepts_kwargs(func))


botocore.hooks.accepts_kwargs = _cached_accepts_kwargs
_aliased_names: dict[str, str] = {}
_aliaser_init = botocore.hooks.EventAliaser.__init__


def _aliaser_sharing_its_cache(
    self: botocore.hooks.EventAliaser, event_emitter: object, event_aliases: object = None
) -> None:
    _aliaser_init(self, event_emitter, event_aliases)
    if self._event_aliases == botocore.hooks.EVENT_ALIASES:  # botocore's own (copied into each client's emitter)
        self._alias_name_cache = _aliased_names


botocore.hooks.EventAliaser.__init__ = _aliaser_sharing_its_cache


RUN_ORDER = ("tests/e2e/", "tests/functional/", "tests/unit/", "tests/integration/", "tests/e2e/test_webapp.py")
"""The order `make test`'s two workers start from: each takes one half at the start (xdist's worksteal), and the
half-way point falls among the unit tests. So one worker runs the console's browser tests beside the other's
integration tests, and the web app's browser tests beside the end of the functional ones: a browser test mostly
waits for the browser and the server, and runs best beside tests that keep a core busy. (Both browser modules
side by side left a third of the machine idle for a minute.)"""


def _run_rank(item: pytest.Item) -> int:
    """The rank of the longest prefix the test's id starts with (a web app test is also an e2e test)."""
    return max((rank for rank, prefix in enumerate(RUN_ORDER) if item.nodeid.startswith(prefix)), default=0)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Sorts the tests into `RUN_ORDER` (stable: within a group, the collection's order)."""
    items.sort(key=_run_rank)
