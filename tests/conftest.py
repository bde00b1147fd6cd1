"""Shared pytest configuration: the ``--runslow`` switch for ``@pytest.mark.slow`` tests.

Slow tests (long published vectors, soaks) are skipped by default so the
everyday run stays fast; ``pytest --runslow`` runs them too. The ``slow``
marker itself is declared in pyproject.toml.

``--seeds N`` sets how many seeds the consensus simulator test runs (default
1,000; ``pytest tests/consensus --seeds 100000`` for a long run).
"""

from __future__ import annotations

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
    skip_slow = pytest.mark.skip(reason="slow test: run with `pytest --runslow` to include it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)
