"""A funded population for scaling runs: many accounts holding ETH and a genesis ERC-20.

The issue's scaling run measures throughput against the number of funded
accounts (10k -> 1M). Creating and funding a million accounts with
transactions would take longer than the run itself, so the population is
written straight into genesis:

- ``count`` addresses from :func:`funded_addresses` (no private keys: they only
  receive), each with ``eth_balance`` wei;
- a ``Token`` (contracts/src/Token.sol) pre-deployed at :data:`BENCH_TOKEN_ADDRESS`
  whose storage credits ``token_balance`` to every population address and to
  every sender (the development accounts, which hold keys and send the load).

The token's storage follows Solidity's layout for Token.sol (solc 0.8 storage
layout rules): ``name`` in slot 0, ``symbol`` in slot 1, ``totalSupply`` in
slot 2, and ``balanceOf[a]`` at ``keccak256(pad32(a) || pad32(3))``. The
mapping's hash is keccak-256 on both crypto suites, because the EVM's KECCAK256
opcode computes it.
"""

from __future__ import annotations

from collections.abc import Sequence

from baychain.artifacts import load_artifact
from baychain.crypto import keccak256
from baychain.errors import ConfigError
from baychain.node.genesis import GenesisAccount
from baychain.primitives import UINT256_MAX, Address

__all__ = [
    "BENCH_TOKEN_ADDRESS",
    "BENCH_TOKEN_NAME",
    "BENCH_TOKEN_SYMBOL",
    "MAX_POPULATION",
    "funded_addresses",
    "population_alloc",
    "token_balance_slot",
    "token_genesis_account",
]

BENCH_TOKEN_ADDRESS = Address(bytes.fromhex("00000000000000000000000000000000000b7e20"))
"""Where the genesis Token lives (below any address a key or CREATE can reach in practice)."""
BENCH_TOKEN_NAME = "Bench Token"
BENCH_TOKEN_SYMBOL = "BENCH"
MAX_POPULATION = 10_000_000
"""The most funded accounts a population may have (the genesis file grows ~190 bytes each)."""

NAME_SLOT = 0
SYMBOL_SLOT = 1
TOTAL_SUPPLY_SLOT = 2
BALANCE_OF_SLOT = 3
_ADDRESS_DOMAIN = b"baychain/bench/population/v1"


def funded_addresses(count: int, seed: int = 0) -> list[Address]:
    """``count`` distinct deterministic addresses without keys.

    Address ``i`` is the last 20 bytes of ``keccak256(domain || seed (8) || i (8))``;
    the same ``(count, seed)`` always gives the same list, and a longer list
    extends a shorter one.
    """
    if not 0 <= count <= MAX_POPULATION:
        raise ConfigError(f"a population has 0 to {MAX_POPULATION} accounts, got {count}")
    if not 0 <= seed < 2**64:
        raise ConfigError(f"the population seed must fit in 64 bits, got {seed}")
    prefix = _ADDRESS_DOMAIN + seed.to_bytes(8, "big")
    addresses = [Address(keccak256(prefix + i.to_bytes(8, "big"))[12:]) for i in range(count)]
    if len(set(addresses)) != count:  # a keccak collision: never expected
        raise ConfigError(f"population seed {seed} repeats an address; choose another seed")
    return addresses


def token_balance_slot(holder: Address) -> int:
    """The storage slot of ``balanceOf[holder]`` in Token.sol."""
    return int.from_bytes(
        keccak256(bytes(12) + holder + BALANCE_OF_SLOT.to_bytes(32, "big")), "big"
    )


def token_genesis_account(
    holders: Sequence[tuple[Address, int]], name: str, symbol: str
) -> GenesisAccount:
    """A deployed Token.sol whose ``balanceOf`` credits each holder with its amount.

    ``totalSupply`` is the sum of the amounts. Raise :class:`ConfigError` when a
    holder appears twice, an amount is negative or the supply exceeds uint256.
    """
    storage = dict(
        _string_slots(NAME_SLOT, name, "name") + _string_slots(SYMBOL_SLOT, symbol, "symbol")
    )
    supply = 0
    for holder, amount in holders:
        if amount < 0:
            raise ConfigError(f"token balance of 0x{holder.hex()} is negative")
        slot = token_balance_slot(holder)
        if slot in storage:
            raise ConfigError(f"token holder 0x{holder.hex()} appears twice")
        supply += amount
        if amount:
            storage[slot] = amount
    if supply > UINT256_MAX:
        raise ConfigError("the token's total supply exceeds uint256")
    if supply:
        storage[TOTAL_SUPPLY_SLOT] = supply
    code = load_artifact("Token").deployed_bytecode
    return GenesisAccount(balance=0, nonce=1, code=code, storage=tuple(sorted(storage.items())))


def population_alloc(
    count: int,
    *,
    senders: Sequence[Address],
    eth_balance: int,
    token_balance: int,
    seed: int = 0,
) -> tuple[tuple[Address, GenesisAccount], ...]:
    """Genesis entries for ``count`` funded accounts and the genesis Token.

    Each of the ``count`` :func:`funded_addresses` gets ``eth_balance`` wei and
    ``token_balance`` tokens; each sender gets ``token_balance`` tokens only (its
    ETH comes from its own genesis entry, e.g. the development accounts'). The
    Token sits at :data:`BENCH_TOKEN_ADDRESS`. Entries are sorted by address.
    """
    if not 0 <= eth_balance <= UINT256_MAX or not 0 <= token_balance <= UINT256_MAX:
        raise ConfigError("population balances must be between 0 and 2**256 - 1")
    population = funded_addresses(count, seed)
    holders = [(address, token_balance) for address in population]
    holders += [(sender, token_balance) for sender in senders]
    token = token_genesis_account(holders, BENCH_TOKEN_NAME, BENCH_TOKEN_SYMBOL)
    funded = GenesisAccount(eth_balance)
    alloc = [(address, funded) for address in population]
    alloc.append((BENCH_TOKEN_ADDRESS, token))
    alloc.sort()
    return tuple(alloc)


def _string_slots(slot: int, text: str, what: str) -> list[tuple[int, int]]:
    """Storage of a Solidity ``string`` state variable at ``slot`` (the non-zero slots).

    Up to 31 bytes: the bytes left-aligned with ``2 * length`` in the last byte.
    Longer: ``2 * length + 1`` in the slot and the bytes in 32-byte words from
    slot ``keccak256(pad32(slot))`` on.
    """
    data = text.encode()
    if len(data) > 1_024:
        raise ConfigError(f"the token {what} is longer than 1024 bytes")
    if len(data) < 32:
        return [(slot, int.from_bytes(data.ljust(31, b"\x00") + bytes([2 * len(data)]), "big"))]
    base = int.from_bytes(keccak256(slot.to_bytes(32, "big")), "big")
    words = [data[i : i + 32].ljust(32, b"\x00") for i in range(0, len(data), 32)]
    return [(slot, 2 * len(data) + 1)] + [
        (base + i, int.from_bytes(word, "big")) for i, word in enumerate(words) if any(word)
    ]
