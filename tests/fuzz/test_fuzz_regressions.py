"""Inputs that broke a decoder's contract during the fuzz campaign, kept as regressions.

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
    # Found probing the jsonrpc contract at HEAD (input: 0x5b repeated): json.loads recursed into
    # RecursionError, which escaped Dispatcher.handle_text (HTTP 500, dropped WebSocket).
    answer = _answer(body)
    assert answer["error"] == {"code": -32700, "message": answer["error"]["message"]}  # type: ignore[index]
    finding, _, _ = run_one(TARGETS["jsonrpc"], body)
    assert finding is None


@pytest.mark.parametrize("pairs", [12_000, 500_000])
def test_the_nesting_check_is_linear_in_the_body(pairs: int) -> None:
    # Found by reading the code while writing the jsonrpc target (not by the fuzzer),
    # in a first, uncommitted version of the nesting check
    # (a regular expression stripping JSON strings before counting brackets): 65
    # brackets, then '"' followed by '\\"' pairs and no closing quote made it restart at
    # every quote and scan to the end, quadratic: 24 KB took 3 s, 1 MiB would take hours.
    body = b"[" * 65 + b'"' + b'\\"' * pairs
    started = time.perf_counter()
    _answer(body)
    assert time.perf_counter() - started < 0.5
