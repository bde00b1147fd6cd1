"""A simulated node: the real consensus engine behind a driver that performs its actions.

The driver does what a production driver does, against simulated parts: messages go
to the simulated network, timers to the simulated clock, blocks to the trivial
application, signer states to a :class:`~baychain.consensus.safety.MemorySignerStore`
that survives crashes (it is the node's disk, like its list of committed blocks).
Writes to that disk take simulated time and complete in order; a crash before a
write completes loses it. A crash throws the engine away; a restart builds a new one
from the disk only.

A Byzantine node is a twin: an honest engine sharing its validator key with another
instance. It may also *mutate*: send some peers a conflicting vote or proposal that
it signs directly with the key, bypassing its signer's protection.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from baychain.consensus.actions import (
    Action,
    Broadcast,
    BuildProposal,
    Commit,
    PersistSignerState,
    ReportEquivocation,
    ReportPeer,
    ScheduleTimeout,
    Send,
    ServeDecision,
    ValidateBlock,
)
from baychain.consensus.engine import Engine
from baychain.consensus.events import (
    BlockValidated,
    Event,
    Persisted,
    ProposalBuilt,
    TimeoutFired,
)
from baychain.consensus.messages import (
    Decision,
    Message,
    proposal_sign_bytes,
    vote_sign_bytes,
)
from baychain.consensus.safety import MemorySignerStore, PrivValidator
from baychain.consensus.sim.app import SimApplication, make_block
from baychain.consensus.types import Proposal, Vote
from baychain.primitives import Hash32, Height, PeerId

if TYPE_CHECKING:
    from baychain.consensus.sim.runner import Simulation

__all__ = ["SimNode"]


class SimNode:
    """One simulated node: its disk (signer store, committed blocks) and its engine."""

    def __init__(
        self, sim: Simulation, node_id: str, index: int, private_key: bytes, *, byzantine: bool
    ) -> None:
        self.sim = sim
        self.node_id = node_id
        self.index = index
        self.private_key = private_key
        self.byzantine = byzantine
        self.store = MemorySignerStore()
        self.app = SimApplication(sim.suite, sim.schedule, index, sim.payload)
        self.engine: Engine | None = None
        self.incarnation = 0
        self.restarts = 0
        self.disk_busy_until = 0

    @property
    def chain(self) -> list[tuple[Hash32, bytes, bytes]]:
        """The committed blocks: (hash, block, encoded certificate)."""
        return self.app.chain

    @property
    def up(self) -> bool:
        """True while the node runs."""
        return self.engine is not None

    def boot(self) -> None:
        """Start (or restart) from the disk: the signer state and the committed blocks."""
        sim = self.sim
        config = sim.config
        signer = PrivValidator(
            sim.suite, self.private_key, config.chain_id, config.genesis_hash, self.store.load()
        )
        self.engine = sim.engine_class(
            sim.config,
            sim.schedule,
            Height(len(self.chain) + 1),
            signer=signer,
            verifier=sim.verifier,
        )
        self.perform(self.engine.start())

    def crash(self) -> None:
        """Lose everything but the disk; pending timers and answers die with the engine."""
        self.engine = None
        self.incarnation += 1

    def handle(self, event: Event) -> None:
        """Feed ``event`` to the engine and perform what it asks."""
        if self.engine is not None:
            self.perform(self.engine.handle(event))

    def perform(self, actions: list[Action]) -> None:
        """Perform ``actions`` in order, as the actions module requires."""
        sim = self.sim
        queue = deque(actions)
        while queue and self.engine is not None:
            action = queue.popleft()
            if isinstance(action, Broadcast):
                self._broadcast(action.message)
            elif isinstance(action, Send):
                self._send(action.peer, action.message)
            elif isinstance(action, ScheduleTimeout):
                event = TimeoutFired(action.kind, action.height, action.round)
                sim.after(action.delay_ms, self, event)
            elif isinstance(action, PersistSignerState):
                sim.persist_later(self, action)
            elif isinstance(action, BuildProposal):
                self._build(action)
            elif isinstance(action, ValidateBlock):
                block_hash, valid = self.app.validate_block(action.height, action.block)
                answer = BlockValidated(action.request_id, block_hash, valid)
                sim.after(sim.execution_delay(), self, answer)
            elif isinstance(action, Commit):
                self._commit(action)
            elif isinstance(action, ServeDecision):
                decision = self.app.decision_at(action.height)
                if decision is not None:
                    self._send(action.peer, Decision(action.height, *decision))
            elif isinstance(action, ReportEquivocation) and not self.byzantine:
                sim.checker.on_equivocation(self.node_id, action.first, action.second)
            elif isinstance(action, ReportPeer) and not self.byzantine:
                sim.checker.on_report(self.node_id, action.peer, action.reason)

    def complete_persist(self, action: PersistSignerState) -> None:
        """The write of ``action.state`` reaches the disk; report it to the engine."""
        self.store.save(action.state)
        if self.engine is None or self.sim.maybe_crash_mid_step(self):
            return  # crashed after the write, before anything it released was sent
        self.perform(self.engine.handle(Persisted(action.seq)))

    def _build(self, action: BuildProposal) -> None:
        sim = self.sim
        block_hash, block = self.app.build_proposal(action.height, action.round)
        sim.checker.on_built(block)
        event = ProposalBuilt(action.height, action.round, block_hash, block)
        sim.after(sim.execution_delay(), self, event)

    def _commit(self, action: Commit) -> None:
        encoded = action.certificate.encode()
        if not self.byzantine:
            self.sim.checker.on_commit(
                self.node_id,
                len(self.chain),
                action.height,
                action.block_hash,
                action.block,
                action.certificate,
            )
        self.app.commit(action.height, action.block_hash, action.block, encoded)
        if not self.byzantine:
            self.sim.on_honest_commit(self)

    def _broadcast(self, message: Message) -> None:
        sim = self.sim
        if not self.byzantine:
            sim.checker.on_send(self.node_id, message)
            sim.broadcast(self.node_id, message)
            return
        variant = self._mutation(message) if sim.rng.random() < sim.scenario.mutate else None
        if variant is None:
            sim.broadcast(self.node_id, message)
        else:
            sim.broadcast_split(self.node_id, message, variant)

    def _send(self, peer: PeerId, message: Message) -> None:
        if not self.byzantine:
            self.sim.checker.on_send(self.node_id, message)
        self.sim.send(self.node_id, peer, message)

    def _mutation(self, message: Message) -> Message | None:
        """A conflicting message signed with the twin's key, or None."""
        sim = self.sim
        suite, chain_id, genesis = sim.suite, sim.config.chain_id, sim.config.genesis_hash
        if isinstance(message, Vote):
            if message.block_hash is None:
                other = sim.some_block_hash(message.height)
            else:
                other = None if sim.rng.random() < 0.5 else sim.some_block_hash(message.height)
            if other == message.block_hash:
                return None
            payload = vote_sign_bytes(
                chain_id, genesis, message.vote_type, message.height, message.round, other
            )
            signature = suite.sign(self.private_key, payload)
            return Vote(
                message.vote_type, message.height, message.round, other, message.validator,
                signature,
            )  # fmt: skip
        if isinstance(message, Proposal):
            wrong_height = message.height + (1 if sim.rng.random() < 0.5 else 0)
            block = make_block(wrong_height, message.round, self.index, sim.payload())
            sim.checker.on_built(block)
            block_hash = suite.hash(block)
            payload = proposal_sign_bytes(
                chain_id, genesis, message.height, message.round, block_hash, message.valid_round
            )
            signature = suite.sign(self.private_key, payload)
            return Proposal(
                message.height, message.round, block_hash, message.valid_round, block,
                message.proposer, signature,
            )  # fmt: skip
        return None
