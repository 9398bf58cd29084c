"""Every patch the suite makes to botocore and moto, in one place, each with why. None changes what a call
answers: they stop the suite from paying again for work whose result cannot differ, and one makes moto (not
thread-safe) answer one request at a time.

`apply()` is called once per process by tests/conftest.py (the moto one lazily, on first use of moto's DynamoDB in
tests/moto_cloud.py, so that test runs that never use moto never import it).
"""

from __future__ import annotations

import collections
import copy
import functools
import json
import pickle
import threading
from collections.abc import Callable
from typing import Any

import botocore.compat
import botocore.hooks
import botocore.loaders
import botocore.parsers
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


_DYNAMODB_JSON = "application/x-amz-json-1.0"


class DynamoDBAnswersAsBuilt:
    """Stands in for moto's serializer of DynamoDB's successful answers. moto builds each answer as a dict already in
    DynamoDB's wire shape (attribute values as `{"S": ...}`), then walks it again against botocore's output shape
    to write the JSON: 11 % of the functional tests' time under cProfile, most of it in that walk. Here such a dict
    is written with `json.dumps` as it stands. Anything the walk would change goes the old way: bytes (binary
    attributes) and datetimes (which `json.dumps` refuses), a `null` anywhere in the text (the walk drops `None`
    members), and errors. `checking` runs both and keeps every answer that differs (tests/functional/
    test_moto_patches.py runs the booking flows so and finds none)."""

    def __init__(self, serialized: Callable[..., Any]) -> None:
        self.serialized = serialized
        self.checking = False
        self.compared: collections.Counter[str] = collections.Counter()  # answers compared, by action
        self.differing: list[tuple[str, Any, Any]] = []

    def __get__(self, handler: Any, owner: type | None = None) -> Any:
        """A method of the handler it is read from, as the function it stands in for was."""
        return self if handler is None else functools.partial(self, handler)

    def __call__(self, handler: Any, action_result: Any) -> Any:
        body = self._as_built(action_result.result)
        if body is None:
            return self.serialized(handler, action_result)
        if self.checking:
            self._compare(handler, action_result, body)
        return 200, {"Content-Type": _DYNAMODB_JSON, **handler.response_headers}, body

    @staticmethod
    def _as_built(result: Any) -> str | None:
        if type(result) is not dict:  # an error, or an empty answer
            return None
        try:
            body = json.dumps(result)
        except TypeError:  # bytes or a datetime: the serializer encodes them
            return None
        return None if "null" in body else body

    def _compare(self, handler: Any, action_result: Any, body: str) -> None:
        """Both writings, as botocore parses them for the caller (it skips members the output shape lacks, as the
        old way drops them: moto adds a `ConsumedCapacityUnits` to DeleteItem's answer)."""
        status, _, expected = self.serialized(handler, action_result)
        action = handler._get_action()
        self.compared[action] += 1
        wanted, got = _parsed_answer(action, expected), _parsed_answer(action, body)
        if status != 200 or wanted != got:
            self.differing.append((action, wanted, got))


@functools.cache
def _dynamodb_output_shape(action: str) -> Any:
    return botocore.session.get_session().get_service_model("dynamodb").operation_model(action).output_shape


def _parsed_answer(action: str, body: str | bytes) -> Any:
    raw = body.encode() if isinstance(body, str) else body
    answer = {"body": raw, "headers": {}, "status_code": 200}
    return botocore.parsers.create_parser("json").parse(answer, _dynamodb_output_shape(action))


def moto_writes_dynamodb_answers_as_built() -> DynamoDBAnswersAsBuilt:
    """moto's patch (see `DynamoDBAnswersAsBuilt`); idempotent, applied on moto's first use. Returns the stand-in."""
    from moto.dynamodb.responses import DynamoHandler

    current = vars(DynamoHandler).get("serialized")
    if not isinstance(current, DynamoDBAnswersAsBuilt):
        current = DynamoDBAnswersAsBuilt(DynamoHandler.serialized)
        setattr(DynamoHandler, "serialized", current)  # noqa: B010 (a stand-in method: mypy would refuse its type)
    return current


def _copied_through_pickle(node: Any, memo: dict[int, Any] | None = None) -> Any:
    try:
        return pickle.loads(pickle.dumps(node, pickle.HIGHEST_PROTOCOL))  # noqa: S301 (our own objects, in memory)
    except (pickle.PicklingError, TypeError, AttributeError):
        return copy.deepcopy(node, memo)


def moto_copies_expression_trees_through_pickle() -> None:
    """moto validates each UpdateExpression on a copy of its parsed tree (its processors rewrite the tree in place),
    made with `copy.deepcopy`: 2.4 % of the functional tests' time under cProfile. A pickle round trip makes the
    same independent copy of these plain objects in a third of the time (0.10 ms against 0.27 ms for a booking's
    expression); anything pickle cannot take is deep-copied as before."""
    from moto.dynamodb.parsing import validators

    setattr(validators, "deepcopy", _copied_through_pickle)  # noqa: B010 (mypy would refuse the stand-in's type)


def moto_lists_a_handlers_methods_once() -> None:
    """moto lists a response handler's methods (`inspect.getmembers`) on every request to see whether it has the
    action: 1.9 % of the functional tests' time under cProfile. A class's methods do not change between requests,
    so the list is kept per class."""
    from moto.core import responses

    listed = vars(responses)["method_names_from_class"]
    if not hasattr(listed, "cache_info"):
        setattr(responses, "method_names_from_class", functools.cache(listed))  # noqa: B010 (as above)


def moto_parses_each_update_expression_once() -> None:
    """moto parses an UpdateExpression's text into a tree on every UpdateItem and every Update of a transaction
    (twice for a transaction's: once to check it, once to apply it). The tree depends on the text alone and moto
    never changes it (its validators work on a copy), so each text's tree is kept. A text that does not parse
    raises each time, as before (errors are not kept)."""
    from moto.dynamodb.parsing import expressions

    parser = vars(expressions)["UpdateExpressionParser"]  # not in the module's typed names
    make = vars(parser)["make"]  # the classmethod itself
    if not hasattr(make.__func__, "cache_info"):
        parser.make = classmethod(functools.lru_cache(maxsize=4096)(make.__func__))  # type: ignore[arg-type]


def moto_reads_each_condition_text_once() -> None:
    """moto splits a ConditionExpression's text into tokens on every conditional write, one regular expression per
    token, in a Python loop. The tokens depend on the text alone, are tuples, and the parser's later steps build
    new nodes from them rather than changing them, so each text's tokens are kept and handed out in a new deque."""
    from collections import deque

    from moto.dynamodb.comparisons import ConditionExpressionParser

    lex = vars(ConditionExpressionParser)["_lex_condition_expression"]
    if hasattr(lex, "kept"):
        return

    @functools.lru_cache(maxsize=4096)
    def tokens(text: str) -> tuple[Any, ...]:
        parser = ConditionExpressionParser(text, {}, {})
        return tuple(lex(parser))

    def kept(parser: Any) -> Any:
        return deque(tokens(parser.condition_expression))

    kept.kept = tokens  # type: ignore[attr-defined]
    setattr(ConditionExpressionParser, "_lex_condition_expression", kept)  # noqa: B010 (as above)


def moto_walks_a_tree_knowing_what_it_looks_for() -> None:
    """Each of moto's ten UpdateExpression processors walks the whole tree (`DepthFirstTraverser.traverse`) and, at
    every node, builds its map of node types to handlers afresh to ask whether the node is one it handles, and calls
    a per-child hook that only one processor has. The types are fixed per processor class (the map's keys), so here
    the walk asks once per tree and calls the hook only for the processor that has one; the order of visits, the
    hook's calls and the replacement of processed nodes in their parents are moto's, line for line."""
    from moto.dynamodb.parsing import ast_nodes

    traverser, node_type = vars(ast_nodes)["DepthFirstTraverser"], vars(ast_nodes)["Node"]  # as above
    if getattr(traverser.traverse, "walks_once", False):
        return
    no_hook = traverser.pre_processing_of_child

    def traverse(self: Any, root: Any) -> Any:
        types = self.nodes_to_be_processed()
        hook = None if type(self).pre_processing_of_child is no_hook else self.pre_processing_of_child
        process = self.process

        def walk(node: Any, child_id: int) -> Any:
            if isinstance(node, node_type):
                parent_node = node.parent
                if node.children is not None:
                    for i, child_node in enumerate(node.children):
                        if hook is not None:
                            hook(node, i)
                        walk(child_node, i)
                if isinstance(node, types):
                    node = process(node)
                    node.parent = parent_node
                    if parent_node:
                        parent_node.children[child_id] = node
            return node

        return walk(root, -1)

    traverse.walks_once = True  # type: ignore[attr-defined]
    traverser.traverse = traverse


def apply_to_moto() -> None:
    """The moto patches (idempotent), applied on moto's first use."""
    moto_walks_a_tree_knowing_what_it_looks_for()
    moto_parses_each_update_expression_once()
    moto_reads_each_condition_text_once()
    moto_copies_each_table_once_per_transaction()
    moto_answers_one_request_at_a_time()
    moto_writes_dynamodb_answers_as_built()
    moto_copies_expression_trees_through_pickle()
    moto_lists_a_handlers_methods_once()
