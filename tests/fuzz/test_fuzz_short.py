"""A short, seeded fuzz run of every target (``bench/fuzz``), in the default test run.

Each target gets its seeds, the large structured inputs (deep nesting, 1 MiB strings
and lists, huge declared lengths) and then mutations from a fixed seed, so the run is
the same every time. Every input must be decoded or refused with a ``BayChainError``,
keep the target's properties, and take under a second. The long runs are
``python bench/fuzz/run.py`` (see docs/reliability.md).
"""

from __future__ import annotations

import random
import zlib

import pytest

from fuzz.harness import Mutator, Target, fuzz
from fuzz.registry import TARGETS

INPUTS_PER_TARGET = 3_000


@pytest.mark.parametrize("target", TARGETS.values(), ids=list(TARGETS))
def test_a_short_fuzz_run_finds_nothing(target: Target) -> None:
    stats = fuzz(target, INPUTS_PER_TARGET, seed=zlib.crc32(target.name.encode()))
    assert stats.runs == INPUTS_PER_TARGET
    findings = "\n\n".join(
        f"[{f.kind}] {f.error} at {f.location}\ninput ({len(f.data)} bytes): "
        f"{f.data[:512].hex()}\n{f.traceback}"
        for f in stats.findings.values()
    )
    assert not stats.findings, findings


def test_the_mutator_is_deterministic() -> None:
    corpus = TARGETS["consensus"].seeds()
    first, second = (Mutator(random.Random(7), corpus) for _ in range(2))
    assert [first.next_input() for _ in range(300)] == [second.next_input() for _ in range(300)]


def test_a_crashing_decoder_is_a_finding() -> None:
    def check(data: bytes) -> None:
        if data[:1] == b"\xc0":
            raise IndexError("boom")

    stats = fuzz(Target("broken", check, lambda: [b"\xc0", b"\x80"]), 10, seed=1)
    (finding,) = stats.findings.values()
    assert finding.kind == "crash" and finding.error == "IndexError: boom"
    assert finding.data == b"\xc0"
