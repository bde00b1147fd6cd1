"""Shared pytest configuration: the ``--runslow`` switch for ``@pytest.mark.slow`` tests.

Slow tests (long published vectors, soaks) are skipped by default so the
everyday run stays fast; ``pytest --runslow`` runs them too. The ``slow``
marker itself is declared in pyproject.toml.

Under CI (``CI=true``) a test that skips for any reason other than the ``slow``
marker fails instead: CI installs everything the suite needs (scripts/setup), so a
skip there means a missing install step, not a laptop without some tool.

``--seeds N`` sets how many seeds the consensus simulator test runs (default
1,000; ``pytest tests/consensus --seeds 100000`` for a long run).
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--runslow",
        action="store_true",
        default=False,
        help="also run tests marked @pytest.mark.slow",
    )
    parser.addoption(
        "--seeds",
        type=int,
        default=1000,
        help="number of consensus simulator seeds to run (tests/consensus/test_simulator.py)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip_slow = pytest.mark.skip(reason=SLOW_SKIP_REASON)
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


SLOW_SKIP_REASON = "slow test: run with `pytest --runslow` to include it"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI", "").lower() != "true" or not report.skipped:
        return
    reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
    if reason.removeprefix("Skipped: ") == SLOW_SKIP_REASON:
        return
    report.outcome = "failed"
    report.longrepr = f"skipped under CI=true (CI must run every test): {reason}"
