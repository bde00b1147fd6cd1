"""JSON-RPC 2.0 framing: parse requests, dispatch them, shape results and errors.

This is the one boundary where BayChain errors become JSON-RPC error codes
(``error_for``). Transport (HTTP, WebSocket) lives in ``rpc/server.py``.

Codes: -32700 parse error, -32600 invalid request, -32601 method not found,
-32602 invalid params, -32603 internal error, -32000 a transaction or request
the node refuses (the message says why), -32001 resource not found.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from baychain.errors import (
    BayChainError,
    CryptoError,
    DecodingError,
    InvalidTransaction,
    NotFound,
    TransactionRejected,
)

log = logging.getLogger("baychain.rpc")

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_ERROR = -32000
RESOURCE_NOT_FOUND = -32001

MAX_BATCH_LENGTH = 1_000

Handler = Callable[..., Awaitable[Any]]


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


def error_for(error: BaseException) -> RpcError:
    """Map an exception raised by a handler to its JSON-RPC error."""
    if isinstance(error, RpcError):
        return error
    if isinstance(error, NotFound):
        return RpcError(RESOURCE_NOT_FOUND, str(error))
    if isinstance(error, DecodingError | CryptoError | InvalidTransaction | TransactionRejected):
        return RpcError(SERVER_ERROR, str(error))
    if isinstance(error, BayChainError):
        return RpcError(SERVER_ERROR, str(error))
    log.exception("internal error while serving a request", exc_info=error)
    return RpcError(INTERNAL_ERROR, "internal error")


def _error_response(request_id: Any, error: RpcError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.data is not None:
        body["data"] = error.data
    return {"jsonrpc": "2.0", "id": request_id, "error": body}


class Dispatcher:
    """Routes JSON-RPC requests to async handlers registered by method name."""

    def __init__(self) -> None:
        self._methods: dict[str, Handler] = {}

    def register(self, name: str, handler: Handler) -> None:
        """Serve ``name`` with ``handler(*params)``."""
        self._methods[name] = handler

    @property
    def methods(self) -> list[str]:
        """Names of the served methods, sorted."""
        return sorted(self._methods)

    async def handle_text(self, text: str | bytes) -> str | None:
        """Answer one HTTP body or WebSocket frame; None when nothing is to be sent back."""
        try:
            payload = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            return json.dumps(_error_response(None, RpcError(PARSE_ERROR, "parse error")))
        if isinstance(payload, list):
            if not payload:
                return json.dumps(_error_response(None, RpcError(INVALID_REQUEST, "empty batch")))
            if len(payload) > MAX_BATCH_LENGTH:
                return json.dumps(
                    _error_response(
                        None, RpcError(INVALID_REQUEST, f"batch longer than {MAX_BATCH_LENGTH}")
                    )
                )
            answers = [await self.handle_request(item) for item in payload]
            kept = [answer for answer in answers if answer is not None]
            return json.dumps(kept) if kept else None
        answer = await self.handle_request(payload)
        return None if answer is None else json.dumps(answer)

    async def handle_request(self, request: Any) -> dict[str, Any] | None:
        """Answer one request object (None for a notification)."""
        if not isinstance(request, dict) or request.get("jsonrpc") != "2.0":
            return _error_response(None, RpcError(INVALID_REQUEST, "invalid request"))
        request_id = request.get("id")
        is_notification = "id" not in request
        method = request.get("method")
        params = request.get("params", [])
        if not isinstance(method, str):
            return _error_response(request_id, RpcError(INVALID_REQUEST, "method must be a string"))
        if not isinstance(params, list):
            return _error_response(request_id, RpcError(INVALID_PARAMS, "params must be an array"))
        handler = self._methods.get(method)
        if handler is None:
            error = RpcError(
                METHOD_NOT_FOUND, f"the method {method} does not exist/is not available"
            )
            return None if is_notification else _error_response(request_id, error)
        try:
            result = await handler(*params)
        except TypeError as error:
            if "positional argument" not in str(error):
                return _error_response(request_id, error_for(error))
            return _error_response(
                request_id, RpcError(INVALID_PARAMS, f"wrong number of params for {method}")
            )
        except Exception as error:  # every failure becomes an answer; the server keeps serving
            return None if is_notification else _error_response(request_id, error_for(error))
        if is_notification:
            return None
        return {"jsonrpc": "2.0", "id": request_id, "result": result}
