"""Fuzz target ``jsonrpc``: :meth:`baychain.rpc.jsonrpc.Dispatcher.handle_text` on a raw body.

The dispatcher serves three trivial methods (``echo(*params)``, ``one(a)`` and
``count(x)`` with a batch handler), so the fuzzer exercises the parse, envelope,
arity and batch paths. A body must always get an answer: ``None`` or a JSON text
whose top level is an object or a list (the parse error -32700 included); anything
raised is a crash (on the server, an HTTP 500 or a dropped WebSocket). The body is
tried as bytes (HTTP) and, when it is UTF-8, as text (a WebSocket text frame).

The handlers never suspend, so the coroutine is driven by hand (one ``send``), which
is much faster than an event loop per input.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Any

from baychain.rpc.jsonrpc import Dispatcher
from fuzz.harness import PropertyViolation, Target
from fuzz.seeds import json_bodies


async def _echo(*params: Any) -> list[Any]:
    return list(params)


async def _one(a: Any) -> Any:
    return a


async def _count(x: Any) -> int:
    return 1


async def _count_batch(calls: list[list[Any]]) -> list[Any]:
    return [len(params) for params in calls]


def dispatcher() -> Dispatcher:
    """The dispatcher under test."""
    served = Dispatcher(max_batch_length=100)
    served.register("echo", _echo)
    served.register("one", _one)
    served.register("count", _count, batch_handler=_count_batch)
    return served


_DISPATCHER = dispatcher()


def _answer(body: bytes | str) -> str | None:
    coroutine: Coroutine[Any, Any, str | None] = _DISPATCHER.handle_text(body)
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coroutine.close()  # it suspended after all: answer it on an event loop instead
    return asyncio.run(_DISPATCHER.handle_text(body))


def _check_answer(answer: str | None) -> None:
    if answer is None:
        return
    if not isinstance(answer, str):
        raise PropertyViolation(f"the answer is a {type(answer).__name__}, not text")
    parsed = json.loads(answer)
    if not isinstance(parsed, dict | list):
        raise PropertyViolation("the answer is neither a JSON object nor a list")


def check(data: bytes) -> None:
    """Answer ``data`` as an HTTP body and, if it is UTF-8, as a WebSocket text frame."""
    _check_answer(_answer(data))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    _check_answer(_answer(text))


_JSON_TOKENS = (
    b'"jsonrpc"', b'"2.0"', b'"id"', b'"method"', b'"params"', b"[", b"{", b"null", b"1e999",
    b"NaN", b"-0", b"\\ud800", b'"echo"', b'"count"', b'\\"', b'"',
)  # fmt: skip

TARGETS = [
    Target(
        "jsonrpc",
        check,
        json_bodies,
        dictionary=_JSON_TOKENS,
        instrument=("baychain", "json"),
    )
]
