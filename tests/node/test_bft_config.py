"""node.toml's [p2p] peers / tls_dir and [consensus] keys (BFT chains)."""

from __future__ import annotations

from pathlib import Path

import pytest

from baychain.consensus import TimeoutConfig
from baychain.errors import ConfigError
from baychain.node.host.settings import parse_config


def test_defaults_keep_solo_files_valid(tmp_path: Path) -> None:
    config = parse_config({}, root=tmp_path)
    assert config.p2p_peers == ()
    assert config.tls_dir == tmp_path / "tls"
    assert config.signer_state_file == tmp_path / "data" / "signer-state.json"
    assert config.empty_blocks is True
    assert config.timeouts == TimeoutConfig()


def test_bft_keys_parse(tmp_path: Path) -> None:
    config = parse_config(
        {
            "p2p": {"peers": ["127.0.0.1:30301", "node2.example:30302"], "tls_dir": "certs"},
            "consensus": {"signer_state_file": "s.bin", "empty_blocks": False, "propose_ms": 900},
        },
        root=tmp_path,
    )
    assert config.p2p_peers == (("127.0.0.1", 30301), ("node2.example", 30302))
    assert config.tls_dir == tmp_path / "certs"
    assert config.signer_state_file == tmp_path / "s.bin"
    assert config.empty_blocks is False
    assert config.timeouts.propose_ms == 900


@pytest.mark.parametrize(
    "document",
    [
        {"p2p": {"peers": ["no-port"]}},
        {"p2p": {"peers": ["h:0"]}},
        {"p2p": {"peers": "h:1"}},
        {"p2p": {"peers": [1]}},
        {"consensus": {"empty_blocks": 1}},
        {"consensus": {"propose_ms": 0}},
        {"consensus": {"propose_ms": True}},
        {"consensus": {"unknown": 1}},
    ],
)
def test_bad_bft_keys_are_refused(tmp_path: Path, document: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        parse_config(document, root=tmp_path)
