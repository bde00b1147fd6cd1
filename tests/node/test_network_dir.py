"""init_network_dir's extra allocations: merged with the development accounts, repeats refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from baychain.errors import ConfigError, StoreError
from baychain.node.chain import Chain
from baychain.node.genesis import GenesisAccount, load_genesis
from baychain.node.host.datadir import DEV_ACCOUNT_BALANCE_WEI, make_dev_accounts
from baychain.node.localnet.network_dir import init_network_dir
from baychain.primitives import Address

EXTRA = (
    (Address(b"\xee" * 20), GenesisAccount(3)),
    (Address(b"\x01" * 20), GenesisAccount(0, 1, b"\x60\x00", ((1, 2),))),
)


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAYCHAIN_KEY_PASSWORD", "test")


def test_extra_alloc_joins_the_dev_accounts_in_address_order(tmp_path: Path) -> None:
    layout = init_network_dir(
        tmp_path / "net", nodes=1, crypto="ecdsa", dev_accounts=2, extra_alloc=EXTRA
    )
    dev = {account.address for account in make_dev_accounts("ecdsa", 2)}
    alloc = dict(layout.genesis.alloc)
    assert set(alloc) == dev | {address for address, _ in EXTRA}
    assert all(alloc[address].balance == DEV_ACCOUNT_BALANCE_WEI for address in dev)
    assert [address for address, _ in layout.genesis.alloc] == sorted(alloc)
    assert load_genesis(tmp_path / "net" / "node0" / "genesis.json") == layout.genesis


def test_an_address_funded_twice_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    dev_address = make_dev_accounts("sm", 1)[0].address
    with pytest.raises(ConfigError, match=f"0x{dev_address.hex()} is given twice"):
        init_network_dir(
            tmp_path / "dev",
            nodes=1,
            crypto="sm",
            dev_accounts=1,
            extra_alloc=((dev_address, GenesisAccount(1)),),
        )
    with pytest.raises(ConfigError, match="given twice"):
        init_network_dir(
            tmp_path / "repeat",
            nodes=1,
            crypto="sm",
            dev_accounts=0,
            extra_alloc=(EXTRA[0], EXTRA[0]),
        )
    assert not (tmp_path / "dev").exists() and not (tmp_path / "repeat").exists()


def test_a_store_too_small_for_the_genesis_says_how_to_grow_it(tmp_path: Path) -> None:
    extra = tuple(
        (Address(b"\xaa" + i.to_bytes(19, "big")), GenesisAccount(1)) for i in range(20_000)
    )
    layout = init_network_dir(
        tmp_path / "net", nodes=1, crypto="ecdsa", dev_accounts=0, extra_alloc=extra
    )
    with pytest.raises(StoreError, match=r"raise \[storage\] map_size_gib"):
        Chain.open(tmp_path / "net" / "node0" / "data", layout.genesis, map_size=2**20)
    chain = Chain.open(tmp_path / "net" / "node0" / "data", layout.genesis, map_size=2**26)
    assert chain.height == 0 and chain.account(extra[-1][0]).balance == 1
    chain.close()
