"""Consensus parameters: round timeouts that grow with the round, and engine limits.

Timeouts follow the paper's ``timeoutPropose(r)``, ``timeoutPrevote(r)`` and
``timeoutPrecommit(r)``: a base plus ``round * delta``, so after the network becomes
timely again there is a round from which every timeout exceeds the message delay
and correct validators decide (docs/consensus.md, liveness). Defaults are those of
Tendermint/CometBFT. All values are milliseconds of the driver's clock.
The defaults are written only here: node.toml's ``[consensus]`` timeout keys take
theirs from :class:`TimeoutConfig` (``baychain.node.host.settings``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from baychain.crypto.suite import CryptoSuite
from baychain.primitives import Hash32

__all__ = ["EngineConfig", "TimeoutConfig"]


@dataclass(frozen=True, slots=True)
class TimeoutConfig:
    """Round timeouts (base + round * delta) and the re-broadcast period, in ms."""

    propose_ms: int = 3000
    propose_delta_ms: int = 500
    prevote_ms: int = 1000
    prevote_delta_ms: int = 500
    precommit_ms: int = 1000
    precommit_delta_ms: int = 500
    gossip_ms: int = 2000
    """Period of re-sending this node's latest messages (the gossip guarantee the
    liveness proof assumes: every message eventually reaches every correct node)."""

    def propose(self, round: int) -> int:
        """Milliseconds to wait for the proposal of ``round``."""
        return self.propose_ms + round * self.propose_delta_ms

    def prevote(self, round: int) -> int:
        """Milliseconds to wait after seeing prevotes of a quorum in ``round``."""
        return self.prevote_ms + round * self.prevote_delta_ms

    def precommit(self, round: int) -> int:
        """Milliseconds to wait after seeing precommits of a quorum in ``round``."""
        return self.precommit_ms + round * self.precommit_delta_ms


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """What one consensus engine needs to know about its chain and its limits."""

    chain_id: int
    genesis_hash: Hash32
    """Hash of the chain's block 0: signed into every vote and proposal with the chain id."""
    suite: CryptoSuite
    timeouts: TimeoutConfig = field(default_factory=TimeoutConfig)
    empty_blocks: bool = True
    """When False, round 0 of a height starts (proposal, propose timeout) only once the
    pool has transactions or another validator's message for the height arrives."""
    max_future_messages: int = 10_000
    """Messages of the next height kept until this node gets there, from all peers
    together. Only messages whose signature verified against the next height's
    validator set are kept, at most one proposal per round and two votes per
    (validator, round, type) (a vote and one conflicting vote)."""
    max_future_messages_per_peer: int = 1_000
    """Of those, how many one peer's messages may take."""
    max_future_rounds: int = 4
    """Distinct rounds ahead of ours kept per validator (bounds Byzantine flooding);
    also the round window of the next height: its rounds ``0 .. max_future_rounds - 1``
    are buffered, later ones dropped (re-gossip brings them again)."""
    verdict_cache_entries: int = 4_096
    """Signature verdicts remembered (valid and invalid), so a replayed message is not
    verified again."""
