"""Validator sets: quorum arithmetic in integers, intersection, rotation, the schedule."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baychain.consensus.validators import (
    VALIDATOR_SET_DELAY,
    Validator,
    ValidatorSchedule,
    ValidatorSet,
    rotation,
)
from baychain.crypto import dev_private_keys, get_suite
from baychain.errors import ConfigError
from baychain.primitives import Address, Height

SUITE = get_suite("ecdsa")
PUBLIC = [SUITE.public_key(k) for k in dev_private_keys("ecdsa", 8)]


def members(powers: list[int]) -> ValidatorSet:
    return ValidatorSet(
        Validator(SUITE.address(pk), pk, p) for pk, p in zip(PUBLIC, powers, strict=False)
    )


@pytest.mark.parametrize(
    ("powers", "quorum", "faulty"),
    [([1, 1, 1, 1], 3, 1), ([1] * 7, 5, 2), ([1, 1, 1], 3, 0), ([10, 10, 10, 10], 27, 13)],
)
def test_quorum_power_is_more_than_two_thirds(powers: list[int], quorum: int, faulty: int) -> None:
    vs = members(powers)
    assert vs.quorum_power == quorum and vs.max_faulty_power == faulty
    assert vs.is_quorum(quorum) and not vs.is_quorum(quorum - 1)


@given(st.lists(st.integers(1, 50), min_size=1, max_size=8), st.data())
def test_two_quorums_share_more_than_a_third(powers: list[int], data: st.DataObject) -> None:
    vs = members(powers)
    n = len(powers)
    first = data.draw(st.sets(st.integers(0, n - 1)))
    second = data.draw(st.sets(st.integers(0, n - 1)))

    def power(chosen: set[int]) -> int:
        return sum(powers[i] for i in chosen)

    if vs.is_quorum(power(first)) and vs.is_quorum(power(second)):
        shared = power(first & second)
        assert vs.is_one_third(shared)
        assert shared > vs.max_faulty_power  # so the shared part holds an honest validator


@given(st.integers(1, 10**6), st.integers(0, 3 * 10**6))
def test_quorum_is_exactly_three_power_over_two_total(total: int, power: int) -> None:
    vs = members([total])
    assert vs.is_quorum(power) == (3 * power > 2 * total)
    assert vs.is_one_third(power) == (3 * power > total)


def test_rotation_gives_each_validator_slots_in_proportion_and_spreads_them() -> None:
    order = rotation([3, 1, 1, 1])
    assert Counter(order) == {0: 3, 1: 1, 2: 1, 3: 1}
    assert order == (0, 1, 0, 2, 3, 0)  # smooth: its turns are spread out
    assert rotation([2, 2, 2]) == (0, 1, 2)  # powers are reduced by their gcd


def test_proposer_rotates_over_heights_and_rounds() -> None:
    vs = members([1, 1, 1, 1])
    assert [vs.proposer(1, r).address for r in range(4)] == [
        vs.validators[i].address for i in (1, 2, 3, 0)
    ]
    assert vs.proposer(2, 0) == vs.proposer(1, 1)


def test_rotation_period_is_bounded_for_huge_powers() -> None:
    order = rotation([10**9, 10**9 + 1, 3])
    assert len(order) <= 1024 + 3 and set(order) == {0, 1, 2}


def test_invalid_sets_are_refused() -> None:
    with pytest.raises(ConfigError, match="at least one"):
        ValidatorSet([])
    with pytest.raises(ConfigError, match="power"):
        members([0])
    with pytest.raises(ConfigError, match="twice"):
        ValidatorSet([Validator(SUITE.address(PUBLIC[0]), PUBLIC[0], 1)] * 2)
    with pytest.raises(ConfigError, match="public key"):
        ValidatorSet([Validator(Address(b"\x01" * 20), b"\x02" * 33, 1)])


def test_from_public_keys_derives_addresses_with_the_suite() -> None:
    sm = get_suite("sm")
    pk = sm.public_key(dev_private_keys("sm", 1)[0])
    vs = ValidatorSet.from_public_keys(sm, [(pk, 2)])
    assert vs.validators[0].address == sm.address(pk) and vs.total_power == 2
    assert vs.index_of(sm.address(pk)) == 0 and vs.get(Address(b"\x00" * 20)) is None


def test_schedule_applies_a_change_two_heights_after_the_block_that_decided_it() -> None:
    first, second, third = members([1, 1, 1, 1]), members([1, 1, 1, 1, 1]), members([2, 1, 1, 1])
    schedule = ValidatorSchedule(first)
    assert schedule.schedule_change(Height(5), second) == 5 + VALIDATOR_SET_DELAY == 7
    assert schedule.validator_set_at(Height(6)) == first
    assert schedule.validator_set_at(Height(7)) == second
    schedule.schedule_change(Height(5), third)  # a later change in the same block wins
    assert schedule.validator_set_at(Height(100)) == third
    with pytest.raises(ValueError, match="older"):
        schedule.schedule_change(Height(4), first)
    assert [h for h, _ in schedule.changes()] == [1, 7]
