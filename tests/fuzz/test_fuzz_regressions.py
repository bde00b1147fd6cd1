"""Inputs the fuzz campaign found that broke a decoder's contract, kept as regressions.

Each test names the target, the input and what went wrong; see docs/reliability.md.
"""

from __future__ import annotations

import json
import time

import pytest

from fuzz.harness import run_one
from fuzz.registry import TARGETS


def _answer(body: bytes) -> dict[str, object]:
    from fuzz.jsonrpc_target import _answer as answer

    text = answer(body)
    assert text is not None
    parsed = json.loads(text)
    assert isinstance(parsed, dict)
    return parsed


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a":' * 50_000, b"[" * 1_001 + b"]" * 1_001])
def test_a_deeply_nested_json_body_is_a_parse_error(body: bytes) -> None:
    # Found by the jsonrpc target (input: 0x5b repeated): json.loads recursed into
    # RecursionError, which escaped Dispatcher.handle_text (HTTP 500, dropped WebSocket).
    answer = _answer(body)
    assert answer["error"] == {"code": -32700, "message": answer["error"]["message"]}  # type: ignore[index]
    finding, _, _ = run_one(TARGETS["jsonrpc"], body)
    assert finding is None


@pytest.mark.xfail(
    strict=True,
    reason="open (rpc/jsonrpc.py, not ours to fix): too_deep's string regex backtracks "
    "quadratically on an unterminated string of escaped quotes",
)
def test_the_nesting_check_is_linear_in_the_body() -> None:
    # 65 brackets pass the cheap count, then '"' followed by '\\"' pairs and no closing
    # quote: _JSON_STRING restarts at every quote and scans to the end each time.
    # 24 KB take seconds; 1 MiB would take hours. A linear scan takes milliseconds.
    body = b"[" * 65 + b'"' + b'\\"' * 12_000
    started = time.perf_counter()
    _answer(body)
    assert time.perf_counter() - started < 0.5
