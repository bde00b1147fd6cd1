"""BftDriver's job worker: a job that dies of a BaseException does not stop the commits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest
from bft_rig import Rig, until

from baychain.consensus.types import Round
from baychain.ledger.transactions import Transaction
from baychain.primitives import Hash32, Height


class FakePanic(BaseException):
    """Stands in for ``pyo3_runtime.PanicException``: a BaseException, not an Exception."""


def test_a_job_raising_a_base_exception_fails_alone_and_commits_go_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Old code: ``_work`` caught only Exception, so a Rust panic ended the worker task
    and the validator never committed again."""

    async def scenario() -> None:
        rig = Rig(tmp_path, [1])
        driver = rig.start(0, dial=[])
        real_build = driver.app.build_proposal
        panics: list[int] = []

        def build_proposal(
            height: Height,
            round: Round,
            transactions: Sequence[Transaction] = (),
            timestamp_ms: int = 0,
        ) -> tuple[Hash32, bytes]:
            if not panics:
                panics.append(height)
                raise FakePanic("revm panicked")
            return real_build(height, round, transactions, timestamp_ms)

        driver.app.build_proposal = build_proposal  # type: ignore[method-assign]
        try:
            await until(lambda: rig.chains[0].height >= 2, 30, "commits after the panic")
            assert panics == [1]
        finally:
            await rig.stop_all()

    with caplog.at_level(logging.CRITICAL, logger="baychain.node"):
        asyncio.run(scenario())
    assert any("FakePanic" in (r.exc_text or "") + r.getMessage() for r in caplog.records)
