"""Every fuzz target by name."""

from __future__ import annotations

from fuzz import (
    block_target,
    certificate_target,
    consensus_target,
    frames_target,
    handshake_target,
    jsonrpc_target,
    rlp_target,
    sync_target,
    transaction_target,
)
from fuzz.harness import Target

TARGETS: dict[str, Target] = {
    target.name: target
    for module in (
        rlp_target,
        transaction_target,
        block_target,
        frames_target,
        handshake_target,
        consensus_target,
        certificate_target,
        sync_target,
        jsonrpc_target,
    )
    for target in module.TARGETS
}
"""Targets in the order ``run.py --target all`` runs them."""
