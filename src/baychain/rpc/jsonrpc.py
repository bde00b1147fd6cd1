"""JSON-RPC 2.0 framing: parse requests, dispatch them, shape results and errors.

This is the one boundary where BayChain errors become JSON-RPC error codes
(:func:`error_for`). Transports (HTTP, WebSocket) live in ``rpc/server.py``.

=======  ==================================================================
code     meaning
=======  ==================================================================
-32700   parse error: the body is not JSON, or nests arrays and objects too deep
-32600   invalid request: not a JSON-RPC 2.0 request object, empty or oversized batch
-32601   method not found (also eth_subscribe over HTTP, which cannot push)
-32602   invalid params: wrong count or type; the message names the parameter
-32603   internal error: the answer carries only a reference that the node's log line
         names with the details (store failures, bugs, a panic in the Rust engine)
3        execution reverted (eth_call, eth_estimateGas); ``data`` is the revert data
-32000   the node refuses: a rejected transaction (nonce too low, insufficient funds,
         wrong chain id, pool full, ...), a call that cannot run, historical state
-32001   resource not found: an unknown block hash where a block is required
-32005   limit exceeded: log range or result count, open filters, subscriptions, busy
=======  ==================================================================

A handler is registered with its JSON-RPC name and called with the request's
positional params (after the session, for handlers that take one). The number
of params is checked against the handler's signature before it is called.

A method may also have a *batch handler*: within one JSON-RPC batch, a run of
consecutive well-formed calls to that method is answered by one call of the
batch handler with every call's params, in order (``eth_sendRawTransaction``
checks a whole run of transactions in one pass this way). Its answers are the
ones the calls would get one after the other.

Hostile input is answered, never fatal: a body nesting arrays and objects more
than :data:`MAX_JSON_DEPTH` deep is refused before it is parsed (the standard
library's parser recurses, and would exhaust the stack), and a panic of the Rust
engine (``pyo3_runtime.PanicException``, a ``BaseException``) in a handler is an
internal error like any other bug.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from itertools import accumulate
from typing import Any

from baychain.errors import (
    BayChainError,
    ExecutionReverted,
    NotFound,
    StoreError,
)

log = logging.getLogger("baychain.rpc")

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
EXECUTION_REVERTED = 3
SERVER_ERROR = -32000
RESOURCE_NOT_FOUND = -32001
LIMIT_EXCEEDED = -32005

MAX_BATCH_LENGTH = 1_000
"""Default bound on the number of requests in one batch."""

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects a request may have (no JSON-RPC method needs
more than a few levels; Python's parser recurses once per level)."""

# A string, or an unterminated one running to the end of the body: every quote a match
# starts at is consumed, so the scan never restarts inside a string (linear time).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_OPENING_RUN = re.compile(r"[\[{]" + "{" + str(MAX_JSON_DEPTH + 1) + "}")

Handler = Callable[..., Awaitable[Any]]

BatchHandler = Callable[[list[list[Any]]], Awaitable[list[Any]]]
"""Answers a run of calls to one method: each call's params in, one result or
exception per call out, in the same order."""


class RpcError(Exception):
    """An error answer with a JSON-RPC code."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


class InvalidParams(RpcError):
    """A parameter has the wrong type, count or value; the message names it."""

    def __init__(self, message: str) -> None:
        super().__init__(INVALID_PARAMS, message)


class LimitExceeded(RpcError):
    """A request asks more than the node's limits allow; the message says which limit."""

    def __init__(self, message: str) -> None:
        super().__init__(LIMIT_EXCEEDED, message)


def error_for(error: BaseException) -> RpcError:
    """Map an exception raised by a handler to its JSON-RPC error.

    A client learns why the node refused its request; it never learns the node's
    internals. Store failures (paths, LMDB codes), bugs and engine panics answer
    -32603 with a fresh reference, and the node logs the details under it.
    """
    if isinstance(error, RpcError):
        return error
    if isinstance(error, ExecutionReverted):
        return RpcError(EXECUTION_REVERTED, str(error), "0x" + error.data.hex())
    if isinstance(error, NotFound):
        return RpcError(RESOURCE_NOT_FOUND, str(error))
    if isinstance(error, StoreError):
        return _internal(error, "store error", with_traceback=False)
    if isinstance(error, BayChainError):
        return RpcError(SERVER_ERROR, str(error))
    if is_panic(error):
        return _internal(error, "the Rust engine panicked", with_traceback=True)
    return _internal(error, "internal error", with_traceback=True)


def is_panic(error: BaseException) -> bool:
    """True for a panic of the Rust extension (PyO3 raises ``pyo3_runtime.PanicException``)."""
    kind = type(error)
    return kind.__name__ == "PanicException" and kind.__module__ == "pyo3_runtime"


def _internal(error: BaseException, what: str, *, with_traceback: bool) -> RpcError:
    """Log ``error`` under a fresh reference; the answer names the reference only."""
    reference = secrets.token_hex(6)
    log.error(
        "%s while serving a request (reference %s): %s",
        what,
        reference,
        error,
        exc_info=error if with_traceback else None,
    )
    return RpcError(INTERNAL_ERROR, f"internal error: see the node's log for reference {reference}")


def too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``text`` nests arrays and objects more than ``limit`` deep.

    Brackets inside JSON strings do not count. A linear scan (regular expressions
    and ``accumulate`` doing the work in C), so that a hostile body costs no more
    than reading it.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    if _OPENING_RUN.search(brackets):  # the usual bomb, found without walking the body
        return True
    return any(depth > limit for depth in accumulate(map(_DEPTH_STEP.__getitem__, brackets)))


def error_response(request_id: Any, error: RpcError) -> dict[str, Any]:
    """The response object carrying ``error``."""
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.data is not None:
        body["data"] = error.data
    return {"jsonrpc": "2.0", "id": request_id, "error": body}


class _Method:
    __slots__ = ("batch_handler", "handler", "max_params", "min_params", "with_session")

    def __init__(
        self, handler: Handler, with_session: bool, batch_handler: BatchHandler | None
    ) -> None:
        self.handler = handler
        self.with_session = with_session
        self.batch_handler = batch_handler
        positional = [
            p
            for p in inspect.signature(handler).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        ]
        if with_session:
            positional = positional[1:]
        variadic = any(p.kind == p.VAR_POSITIONAL for p in positional)
        fixed = [p for p in positional if p.kind != p.VAR_POSITIONAL]
        self.min_params = sum(1 for p in fixed if p.default is p.empty)
        self.max_params = None if variadic else len(fixed)


class _Call:
    """A request that passed the envelope and arity checks, ready to run."""

    __slots__ = ("is_notification", "method", "name", "params", "request_id")

    def __init__(
        self, request_id: Any, is_notification: bool, name: str, method: _Method, params: list[Any]
    ) -> None:
        self.request_id = request_id
        self.is_notification = is_notification
        self.name = name
        self.method = method
        self.params = params

    def answer(self, result: Any) -> dict[str, Any] | None:
        """The response carrying ``result`` (an exception becomes its error), None if notified."""
        if isinstance(result, Exception):
            return self.fail(result)
        if self.is_notification:
            return None
        return {"jsonrpc": "2.0", "id": self.request_id, "result": result}

    def fail(self, error: BaseException) -> dict[str, Any] | None:
        """The response carrying ``error`` (mapped, and logged if internal), None if notified."""
        mapped = error_for(error)
        return None if self.is_notification else error_response(self.request_id, mapped)


def _valid_id(request_id: Any) -> bool:
    return request_id is None or (
        isinstance(request_id, str | int | float) and not isinstance(request_id, bool)
    )


class Dispatcher:
    """Routes JSON-RPC requests to async handlers registered by method name.

    ``session`` (opaque here) is the client connection's state, handed to the
    handlers registered ``with_session``.
    """

    def __init__(self, *, max_batch_length: int = MAX_BATCH_LENGTH) -> None:
        self._methods: dict[str, _Method] = {}
        self.max_batch_length = max_batch_length

    def register(
        self,
        name: str,
        handler: Handler,
        *,
        with_session: bool = False,
        batch_handler: BatchHandler | None = None,
    ) -> None:
        """Serve ``name`` with ``handler(*params)`` (``handler(session, *params)`` if asked);
        runs of ``name`` calls inside a batch go to ``batch_handler`` if given (see above)."""
        self._methods[name] = _Method(handler, with_session, batch_handler)

    @property
    def methods(self) -> list[str]:
        """Names of the served methods, sorted."""
        return sorted(self._methods)

    async def handle_text(self, text: str | bytes, session: object = None) -> str | None:
        """Answer one HTTP body or WebSocket frame; None when nothing is to be sent back."""
        try:
            if isinstance(text, bytes):
                text = text.decode(json.detect_encoding(text), "surrogatepass")
            if too_deep(text):
                raise RecursionError
            payload = json.loads(text)
        except RecursionError:
            error = RpcError(PARSE_ERROR, "parse error: nesting too deep")
            return json.dumps(error_response(None, error))
        except (ValueError, UnicodeDecodeError):
            return json.dumps(error_response(None, RpcError(PARSE_ERROR, "parse error")))
        if isinstance(payload, list):
            if not payload:
                return json.dumps(error_response(None, RpcError(INVALID_REQUEST, "empty batch")))
            if len(payload) > self.max_batch_length:
                error = RpcError(
                    INVALID_REQUEST,
                    f"batch of {len(payload)} requests is longer than {self.max_batch_length}",
                )
                return json.dumps(error_response(None, error))
            answers = await self._handle_batch(payload, session)
            kept = [answer for answer in answers if answer is not None]
            return json.dumps(kept) if kept else None
        answer = await self.handle_request(payload, session)
        return None if answer is None else json.dumps(answer)

    async def handle_request(self, request: Any, session: object = None) -> dict[str, Any] | None:
        """Answer one request object (None for a notification)."""
        return await self._run(self._resolve(request), session)

    @staticmethod
    async def _run(call: _Call | dict[str, Any] | None, session: object) -> dict[str, Any] | None:
        if not isinstance(call, _Call):
            return call  # the request was answered while resolving it
        try:
            if call.method.with_session:
                result = await call.method.handler(session, *call.params)
            else:
                result = await call.method.handler(*call.params)
        except BaseException as error:  # every failure becomes an answer; the server keeps serving
            if not isinstance(error, Exception) and not is_panic(error):
                raise  # cancellation, KeyboardInterrupt, SystemExit
            return call.fail(error)
        return call.answer(result)

    async def _handle_batch(
        self, requests: list[Any], session: object
    ) -> list[dict[str, Any] | None]:
        """Answer a batch in order; runs of calls to a method with a batch handler go together."""
        resolved = [self._resolve(request) for request in requests]
        answers: list[dict[str, Any] | None] = []
        index = 0
        while index < len(requests):
            call = resolved[index]
            if not isinstance(call, _Call) or call.method.batch_handler is None:
                answers.append(await self._run(call, session))
                index += 1
                continue
            run = [call]
            for later in resolved[index + 1 :]:
                if not isinstance(later, _Call) or later.name != call.name:
                    break
                run.append(later)
            answers.extend(await self._handle_run(call.method.batch_handler, run))
            index += len(run)
        return answers

    @staticmethod
    async def _handle_run(
        batch_handler: BatchHandler, run: list[_Call]
    ) -> list[dict[str, Any] | None]:
        try:
            results = await batch_handler([call.params for call in run])
        except BaseException as error:  # the whole run failed (e.g. the node is busy)
            if not isinstance(error, Exception) and not is_panic(error):
                raise  # cancellation, KeyboardInterrupt, SystemExit
            mapped = error_for(error)  # one log line for the run, one answer per call
            return [
                None if call.is_notification else error_response(call.request_id, mapped)
                for call in run
            ]
        return [call.answer(result) for call, result in zip(run, results, strict=True)]

    def _resolve(self, request: Any) -> _Call | dict[str, Any] | None:
        """Check a request object's envelope and arity: the call to run, else its answer."""
        if not isinstance(request, dict) or request.get("jsonrpc") != "2.0":
            return error_response(None, RpcError(INVALID_REQUEST, "invalid request"))
        request_id = request.get("id")
        if not _valid_id(request_id):
            return error_response(None, RpcError(INVALID_REQUEST, "id must be a string or number"))
        is_notification = "id" not in request
        method = request.get("method")
        params = request.get("params", [])
        if not isinstance(method, str):
            return error_response(request_id, RpcError(INVALID_REQUEST, "method must be a string"))
        if params is None:
            params = []
        entry = self._methods.get(method)
        if entry is None:
            error = RpcError(
                METHOD_NOT_FOUND, f"the method {method} does not exist/is not available"
            )
            return None if is_notification else error_response(request_id, error)
        if not isinstance(params, list):
            return error_response(request_id, InvalidParams("params must be an array"))
        if len(params) < entry.min_params or (
            entry.max_params is not None and len(params) > entry.max_params
        ):
            return error_response(request_id, InvalidParams(_arity_message(method, entry, params)))
        return _Call(request_id, is_notification, method, entry, params)


def _arity_message(method: str, entry: _Method, params: list[Any]) -> str:
    if entry.max_params == entry.min_params:
        wanted = str(entry.min_params)
    elif entry.max_params is None:
        wanted = f"at least {entry.min_params}"
    else:
        wanted = f"{entry.min_params} to {entry.max_params}"
    return f"wrong number of params for {method}: expected {wanted}, got {len(params)}"
