"""Misbehaviour scores (threshold, leak, bans) and reconnect backoff."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baychain.errors import ConfigError
from baychain.network.backoff import Backoff
from baychain.network.scoring import (
    DEFAULT_OFFENCE_POINTS,
    MisbehaviourTracker,
    Offence,
    ScoreConfig,
)
from baychain.primitives import PeerId

PEER = PeerId("0x" + "11" * 20)
OTHER = PeerId("0x" + "22" * 20)


def test_every_offence_has_points() -> None:
    assert set(DEFAULT_OFFENCE_POINTS) == set(Offence)


def test_two_broken_streams_ban_a_peer_and_only_that_peer() -> None:
    tracker = MisbehaviourTracker(ScoreConfig(threshold=100, ban_seconds=60))
    assert not tracker.record(PEER, Offence.OVERSIZED_FRAME, now=0.0)
    assert tracker.score(PEER, 0.0) == 50
    assert tracker.record(PEER, Offence.MALFORMED_FRAME, now=0.0)
    assert tracker.is_banned(PEER, 1.0)
    assert not tracker.is_banned(OTHER, 1.0)
    assert tracker.banned_until(PEER) == 60.0


def test_a_ban_expires_and_the_score_starts_over() -> None:
    tracker = MisbehaviourTracker(ScoreConfig(threshold=20, ban_seconds=10))
    tracker.record(PEER, Offence.UNEXPECTED_MESSAGE, now=0.0)
    assert tracker.is_banned(PEER, 9.99)
    assert not tracker.record(PEER, Offence.INVALID_MESSAGE, now=5.0)  # banned: not counted
    assert not tracker.is_banned(PEER, 10.0)
    assert tracker.score(PEER, 10.0) == 0.0


def test_the_score_leaks_so_rare_glitches_are_forgiven() -> None:
    tracker = MisbehaviourTracker(ScoreConfig(threshold=100, decay_per_second=1.0))
    for second in range(0, 200, 10):  # 10 points every 10 s: never accumulates
        assert not tracker.record(PEER, Offence.INVALID_MESSAGE, now=float(second))
    assert tracker.score(PEER, 200.0) <= 10.0
    tracker.forget_idle(1000.0)
    assert tracker.score(PEER, 1000.0) == 0.0


def test_explicit_points_and_unban() -> None:
    tracker = MisbehaviourTracker(ScoreConfig(threshold=100))
    assert tracker.record(PEER, Offence.INVALID_MESSAGE, now=0.0, points=100)
    tracker.unban(PEER)
    assert not tracker.is_banned(PEER, 0.0)


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(initial_seconds=0.5, max_seconds=4.0, jitter=0.0)
    assert [backoff.base(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff.base(10_000) == 4.0


@given(attempt=st.integers(0, 100), seed=st.integers(0, 2**32))
def test_jitter_stays_within_its_fraction(attempt: int, seed: int) -> None:
    backoff = Backoff(initial_seconds=1.0, max_seconds=30.0, jitter=0.25)
    delay = backoff.delay(attempt, random.Random(seed))
    base = backoff.base(attempt)
    assert 0.75 * base <= delay <= 1.25 * base


def test_jitter_is_reproducible_from_the_seed() -> None:
    backoff = Backoff()
    first = [backoff.delay(n, random.Random(42)) for n in range(5)]
    again = [backoff.delay(n, random.Random(42)) for n in range(5)]
    other = [backoff.delay(n, random.Random(43)) for n in range(5)]
    assert first == again != other


@pytest.mark.parametrize(
    "kwargs",
    [{"initial_seconds": 0}, {"initial_seconds": 5, "max_seconds": 1}, {"jitter": 1.5}],
)
def test_nonsense_backoff_is_a_config_error(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        Backoff(**kwargs)
