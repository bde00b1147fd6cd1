"""What `baychain status` reports, read straight from a node's store.

LMDB lets this process read while the node process writes, so status works
whether or not the node is running (before its first start it shows genesis).
"""

from __future__ import annotations

from typing import Any

from baychain.node.chain import Chain
from baychain.node.genesis import Genesis
from baychain.node.host.settings import NodeConfig


def read_status(config: NodeConfig, genesis: Genesis) -> dict[str, Any]:
    """Height, head hash, state root, crypto suite and chain id of the node's ledger."""
    chain = Chain.open(config.data_dir, genesis, map_size=config.map_size_bytes)
    try:
        head = chain.head
        return {
            "height": head.height,
            "head_hash": "0x" + chain.head_hash.hex(),
            "state_root": "0x" + head.state_root.hex(),
            "timestamp_ms": head.timestamp_ms,
            "crypto": genesis.crypto,
            "chain_id": genesis.chain_id,
            "hardfork": genesis.hardfork,
            "validators": len(genesis.validators),
            "data_dir": str(config.data_dir),
        }
    finally:
        chain.close()
