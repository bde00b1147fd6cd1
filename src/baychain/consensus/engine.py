"""The Tendermint consensus state machine, sans I/O.

This is Algorithm 1 of Buchman, Kwon and Milosevic, "The latest gossip on BFT
consensus" (arXiv:1807.04938, 2018), over weighted voting power: "2f + 1 messages"
reads "messages from validators holding more than two thirds of the power" and
"f + 1" reads "more than one third". The rules, by the paper's line numbers:

- StartRound (11): the proposer proposes its ``validValue`` if it has one, else asks
  the application for a block (:class:`~.actions.BuildProposal`); everyone starts
  the propose timeout.
- 22: a proposal with ``valid_round = -1``: prevote it if it is valid and we are not
  locked on another block, else prevote nil.
- 28: a proposal with ``0 <= valid_round < round`` and a polka for it in
  ``valid_round``: prevote it if valid and our lock is no newer than
  ``valid_round`` or on the same block, else nil.
- 34: prevotes of a quorum (any value): start the prevote timeout (once per round).
- 36: the proposal of this round, valid, with a polka: if still in prevote step,
  lock on it and precommit it; in any case remember it as ``validValue``.
- 44: a nil polka while in prevote step: precommit nil.
- 47: precommits of a quorum (any value): start the precommit timeout (once).
- 49: a valid block with precommits of a quorum in any round: decide it, emit
  :class:`~.actions.Commit` with its certificate and start the next height.
- 55: messages of more than a third of the power for a later round: jump to it.
- 57/61/65: propose timeout -> prevote nil; prevote timeout -> precommit nil;
  precommit timeout -> next round.

What the paper leaves to the environment is done here explicitly:

- ``valid(v)`` is asynchronous: every proposal's block is handed to the driver
  (:class:`~.actions.ValidateBlock`) as soon as it arrives, so execution overlaps
  vote collection; rules that need ``valid(v)`` wait for the answer.
- The gossip assumption (every message a correct node sent or received reaches
  every correct node) is met by a periodic re-broadcast of this node's latest
  messages, of the precommits that justify its round, and of the proof-of-lock
  prevotes with a re-proposal; and by catch-up: a node that sees peers two heights
  ahead, or stays behind one for a whole gossip period, asks for the decision
  (block and certificate) of its height.
- Signing goes through :class:`~.safety.PrivValidator`; each new signer state is
  emitted as :class:`~.actions.PersistSignerState`, and messages, sends and commits
  emitted after it are held until :class:`~.events.Persisted` reports it durable.
- With ``empty_blocks`` off, round 0 of a height waits for transactions (or for
  another validator's message of the height) before proposing or timing out.

Pipelining: the engine enters height h+1 the moment it decides h, without waiting
for the commit to be written, and replays the messages of h+1 it buffered, so the
proposal of h+1 is validated right after h's commit is applied. That buffer keeps
only messages whose signature verified against the set of h+1, within a round
window, a share per peer and one slot per (signer, round, step)
(:meth:`Engine._buffer_next_height`).

Bad input is held against its sender: a signature that does not verify or a forged
certificate yields :class:`~.actions.ReportPeer` for the peer it came from. Every
signature verdict is remembered (bounded), so replays are not verified again.
"""

from __future__ import annotations

from collections.abc import Callable

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
from baychain.consensus.certificate import (
    CommitCertificate,
    decode_certificate,
    verify_certificate,
)
from baychain.consensus.config import EngineConfig
from baychain.consensus.events import (
    BlockValidated,
    Event,
    MessageReceived,
    Persisted,
    ProposalBuilt,
    TimeoutFired,
    TimeoutKind,
    TransactionsAvailable,
)
from baychain.consensus.messages import (
    Decision,
    DecisionRequest,
    Message,
    decode_message,
    encode_message,
    proposal_sign_bytes,
    vote_sign_bytes,
)
from baychain.consensus.safety import Lock, PrivValidator, SignerState
from baychain.consensus.types import NO_ROUND, Proposal, Round, Step, Vote, VoteType
from baychain.consensus.validators import ValidatorSet, ValidatorSetProvider
from baychain.consensus.verifier import CachingVerifier, SignatureVerifier
from baychain.consensus.votes import AddResult, VoteSet
from baychain.errors import DecodingError, DoubleSignRefused, InvalidCommitCertificate
from baychain.primitives import Address, Hash32, Height, PeerId

__all__ = ["Engine"]

_SLOT = {Step.PROPOSE: 0, Step.PREVOTE: 1, Step.PRECOMMIT: 2}


class Engine:
    """One node's consensus state machine: feed it events, perform the actions it returns.

    ``height`` is the next height to decide (last committed + 1). ``signer`` is absent
    on a node that only follows the chain; a signer whose address is not in a height's
    set does not vote at that height. The engine restores its round, step, lock and
    last vote from ``signer.state`` when that state is at ``height``. Call
    :meth:`start` once, then :meth:`handle` for every event.
    """

    def __init__(
        self,
        config: EngineConfig,
        validator_sets: ValidatorSetProvider,
        height: Height,
        *,
        signer: PrivValidator | None = None,
        verifier: SignatureVerifier | None = None,
    ) -> None:
        self.config = config
        self._sets = validator_sets
        self._signer = signer
        self._me: Address | None = signer.address if signer is not None else None
        # Every verdict is remembered: a replayed message (re-gossip, or a peer sending
        # the same forgery again) costs a lookup, not a signature check.
        self._verifier: SignatureVerifier = CachingVerifier(
            config.suite, config.verdict_cache_entries, inner=verifier
        )
        self._timeouts = config.timeouts
        self._out: list[Action] = []
        self._held: list[tuple[int, Action]] = []
        self._seq = 0
        self._acked = 0
        self._next_request = 0
        self._future: dict[Message, PeerId] = {}  # next-height messages, deduplicated
        self._future_per_peer: dict[PeerId, int] = {}
        self._future_slots: dict[tuple[Address, int, int], int] = {}
        self._peer_heights: dict[PeerId, int] = {}
        self._reset(height)

    # ------------------------------------------------------------------ state

    def _reset(self, height: Height) -> None:
        """Forget everything about the previous height and set up ``height``."""
        self._height = height
        self._validators = self._sets.validator_set_at(height)
        self._round = Round(0)
        self._step = Step.PROPOSE
        self._locked_round = NO_ROUND
        self._locked_hash: Hash32 | None = None
        self._valid_round = NO_ROUND
        self._valid_hash: Hash32 | None = None
        self._proposals: dict[int, Proposal] = {}
        self._prevotes: dict[int, VoteSet] = {}
        self._precommits: dict[int, VoteSet] = {}
        self._round_power: dict[int, dict[Address, int]] = {}
        self._future_rounds: dict[Address, set[int]] = {}
        self._skip_to = NO_ROUND
        self._fired: set[tuple[int, int]] = set()
        self._checks: dict[tuple[Hash32, bytes], bool | None] = {}
        self._valid_blocks: dict[Hash32, bytes] = {}
        self._known_hashes: set[Hash32] = set()
        self._requests: dict[int, tuple[Hash32, bytes]] = {}
        self._commit_candidates: dict[int, Hash32] = {}
        self._decision_certs: dict[Hash32, CommitCertificate] = {}
        self._own: dict[tuple[int, int], Proposal | Vote] = {}
        self._proposing: set[int] = set()
        self._waiting_for_txs = False
        self._reported: set[tuple[Address, int, int]] = set()
        self._served: set[tuple[PeerId, int]] = set()
        self._asked: set[PeerId] = set()
        self._ticks = 0

    @property
    def height(self) -> Height:
        """The height being decided."""
        return self._height

    @property
    def round(self) -> Round:
        """The current round (the paper's ``round_p``)."""
        return self._round

    @property
    def step(self) -> Step:
        """The current step (the paper's ``step_p``)."""
        return self._step

    @property
    def locked(self) -> tuple[int, Hash32 | None]:
        """(``lockedRound``, hash of ``lockedValue``); (-1, None) when unlocked."""
        return self._locked_round, self._locked_hash

    @property
    def valid(self) -> tuple[int, Hash32 | None]:
        """(``validRound``, hash of ``validValue``); (-1, None) when none."""
        return self._valid_round, self._valid_hash

    @property
    def validator_set(self) -> ValidatorSet:
        """The validator set of the current height."""
        return self._validators

    @property
    def next_height_backlog(self) -> int:
        """How many messages of the next height are buffered (verified, bounded)."""
        return len(self._future)

    @property
    def waiting_for_transactions(self) -> bool:
        """True while round 0 waits for transactions (``empty_blocks`` off)."""
        return self._waiting_for_txs

    # ------------------------------------------------------------------ entry points

    def start(self) -> list[Action]:
        """Enter the first height (restoring the persisted round and lock); return actions."""
        self._out = []
        state = self._signer.state if self._signer is not None else None
        if state is not None and state.height == self._height:
            self._restore(state)
        else:
            self._start_round(Round(0), new_height=True)
        self._schedule(TimeoutKind.GOSSIP, Round(0), self._timeouts.gossip_ms)
        self._run_rules()
        return self._flush()

    def handle(self, event: Event) -> list[Action]:
        """Apply one event; return the actions the driver must perform, in order."""
        self._out = []
        if isinstance(event, MessageReceived):
            self._on_message(event.peer, event.message)
        elif isinstance(event, TimeoutFired):
            self._on_timeout(event)
        elif isinstance(event, BlockValidated):
            self._on_validated(event)
        elif isinstance(event, ProposalBuilt):
            self._on_built(event)
        elif isinstance(event, Persisted):
            self._on_persisted(event.seq)
        elif isinstance(event, TransactionsAvailable) and self._waiting_for_txs:
            self._open_round_zero()
        self._run_rules()
        return self._flush()

    def _flush(self) -> list[Action]:
        out, self._out = self._out, []
        return out

    # ------------------------------------------------------------------ rounds

    def _start_round(self, round: Round, *, new_height: bool = False) -> None:
        """StartRound(round) (line 11)."""
        self._round = round
        self._step = Step.PROPOSE
        for rounds in self._future_rounds.values():
            rounds.difference_update([r for r in rounds if r <= round])
        if new_height and round == 0 and not self.config.empty_blocks:
            self._waiting_for_txs = True
            return
        self._waiting_for_txs = False
        self._enter_propose()

    def _open_round_zero(self) -> None:
        """End the wait for transactions: round 0 starts for real."""
        self._waiting_for_txs = False
        self._enter_propose()

    def _enter_propose(self) -> None:
        round = self._round
        if self._is_proposer(round) and round not in self._proposing:
            self._proposing.add(round)
            block = self._valid_blocks.get(self._valid_hash) if self._valid_hash else None
            if self._valid_hash is not None and block is not None:
                self._propose(self._valid_hash, block, self._valid_round)
            else:
                self._emit(BuildProposal(self._height, round))
        self._schedule(TimeoutKind.PROPOSE, round, self._timeouts.propose(round))

    def _is_proposer(self, round: int) -> bool:
        return self._me is not None and (
            self._validators.proposer(self._height, round).address == self._me
        )

    def _restore(self, state: SignerState) -> None:
        """Resume at the round and step of the last signed message, with its lock.

        The locked block becomes the valid value again (validRound >= lockedRound
        always holds), and its proof-of-lock prevotes are counted again, so this node
        can re-propose the block it is locked on.
        """
        self._round = state.round
        self._step = state.step
        lock = state.lock
        if lock is not None:
            self._locked_round, self._locked_hash = lock.round, lock.block_hash
            self._known_hashes.add(lock.block_hash)
            for encoded in lock.proof:
                self._restore_vote(encoded)
            if lock.block:
                self._valid_round, self._valid_hash = lock.round, lock.block_hash
                self._valid_blocks[lock.block_hash] = lock.block
                self._checks[(lock.block_hash, lock.block)] = True
        if state.step == Step.PROPOSE:
            self._proposing.add(state.round)
            self._schedule(TimeoutKind.PROPOSE, state.round, self._timeouts.propose(state.round))
        for encoded in (state.prevote, state.precommit):
            vote = self._restore_vote(encoded) if encoded else None
            if vote is not None and vote.validator == self._me:
                step = Step.PREVOTE if vote.vote_type == VoteType.PREVOTE else Step.PRECOMMIT
                self._own[(vote.round, _SLOT[step])] = vote
                self._emit(Broadcast(vote))

    def _restore_vote(self, encoded: bytes) -> Vote | None:
        """Count a vote kept in the signer state (checked like any received vote)."""
        try:
            vote = decode_message(encoded)
        except DecodingError:
            return None
        if not isinstance(vote, Vote) or vote.height != self._height:
            return None
        self._on_vote(None, vote)
        return vote

    # ------------------------------------------------------------------ the upon rules

    def _run_rules(self) -> None:
        """Apply the upon-rules until none fires."""
        while self._apply_one_rule():
            pass

    def _apply_one_rule(self) -> bool:
        if self._try_decide():
            return True
        if self._skip_to > self._round:
            # Line 55: more than a third of the power is in a later round.
            self._start_round(Round(self._skip_to))
            return True
        return self._try_round_rules()

    def _try_decide(self) -> bool:
        """Line 49, and the same for a verified certificate received in a Decision."""
        for round, block_hash in self._commit_candidates.items():
            if block_hash in self._valid_blocks:
                self._decide(Round(round), block_hash, self._certificate(round, block_hash))
                return True
        for block_hash, certificate in self._decision_certs.items():
            if block_hash in self._valid_blocks:
                self._decide(certificate.round, block_hash, certificate)
                return True
        return False

    def _try_round_rules(self) -> bool:
        round, step = self._round, self._step
        proposal = self._proposals.get(round)
        prevotes = self._prevotes.get(round)
        if (
            step == Step.PROPOSE
            and proposal is not None
            and not self._waiting_for_txs
            and self._rule_prevote_on_proposal(proposal)
        ):
            return True
        if step >= Step.PREVOTE and prevotes is not None:
            quorum = self._validators.is_quorum
            # Line 34: a quorum of prevotes for anything starts the prevote timeout.
            if step == Step.PREVOTE and quorum(prevotes.total_power) and self._once(34, round):
                self._schedule(TimeoutKind.PREVOTE, round, self._timeouts.prevote(round))
                return True
            # Line 36: a polka for this round's valid proposal.
            if (
                proposal is not None
                and quorum(prevotes.power_for(proposal.block_hash))
                and self._validity(proposal) is True
                and self._once(36, round)
            ):
                if step == Step.PREVOTE:
                    self._locked_round, self._locked_hash = round, proposal.block_hash
                    proof = tuple(
                        encode_message(v) for v in prevotes.votes_for(proposal.block_hash)
                    )
                    lock = Lock(round, proposal.block_hash, proposal.block, proof)
                    self._vote(VoteType.PRECOMMIT, proposal.block_hash, lock)
                self._valid_round, self._valid_hash = round, proposal.block_hash
                return True
            # Line 44: a nil polka.
            if step == Step.PREVOTE and quorum(prevotes.power_for(None)):
                self._vote(VoteType.PRECOMMIT, None)
                return True
        precommits = self._precommits.get(round)
        # Line 47: a quorum of precommits for anything starts the precommit timeout.
        if (
            precommits is not None
            and self._validators.is_quorum(precommits.total_power)
            and self._once(47, round)
        ):
            self._schedule(TimeoutKind.PRECOMMIT, round, self._timeouts.precommit(round))
            return True
        return False

    def _rule_prevote_on_proposal(self, proposal: Proposal) -> bool:
        """Lines 22 and 28; True when a prevote was cast."""
        valid_round = proposal.valid_round
        block_hash = proposal.block_hash
        if valid_round == NO_ROUND:
            valid = self._validity(proposal)
            if valid is None:
                return False
            unlocked = self._locked_round == NO_ROUND or self._locked_hash == block_hash
            self._vote(VoteType.PREVOTE, block_hash if valid and unlocked else None)
            return True
        pol = self._prevotes.get(valid_round)
        if pol is None or not self._validators.is_quorum(pol.power_for(block_hash)):
            return False
        valid = self._validity(proposal)
        if valid is None:
            return False
        acceptable = self._locked_round <= valid_round or self._locked_hash == block_hash
        self._vote(VoteType.PREVOTE, block_hash if valid and acceptable else None)
        return True

    def _once(self, rule: int, round: int) -> bool:
        """True the first time (``rule``, ``round``) is asked about ("for the first time")."""
        key = (rule, round)
        if key in self._fired:
            return False
        self._fired.add(key)
        return True

    def _validity(self, proposal: Proposal) -> bool | None:
        """valid(v) for the proposal's block: None while the application has not answered."""
        return self._checks.get((proposal.block_hash, proposal.block))

    # ------------------------------------------------------------------ deciding

    def _certificate(self, round: int, block_hash: Hash32) -> CommitCertificate:
        index_of = self._validators.index_of
        entries = []
        for vote in self._precommits[round].votes_for(block_hash):
            index = index_of(vote.validator)
            if index is not None:
                entries.append((index, vote.signature))
        entries.sort()
        return CommitCertificate(self._height, Round(round), block_hash, tuple(entries))

    def _decide(self, round: Round, block_hash: Hash32, certificate: CommitCertificate) -> None:
        block = self._valid_blocks[block_hash]
        self._emit(Commit(self._height, round, block_hash, block, certificate))
        self._enter_height(Height(self._height + 1))

    def _enter_height(self, height: Height) -> None:
        self._reset(height)
        self._start_round(Round(0), new_height=True)
        self._schedule(TimeoutKind.GOSSIP, Round(0), self._timeouts.gossip_ms)
        buffered, self._future = self._future, {}
        self._future_per_peer.clear()
        self._future_slots.clear()
        for message, peer in buffered.items():
            self._on_message(peer, message)
        ahead = self._peer_ahead(2)
        if ahead is not None:
            self._ask_decision(ahead)

    # ------------------------------------------------------------------ signing

    def _vote(
        self, vote_type: VoteType, block_hash: Hash32 | None, lock: Lock | None = None
    ) -> None:
        """Sign and send a vote for the current round, and move to its step."""
        height, round = self._height, self._round
        self._step = Step.PREVOTE if vote_type == VoteType.PREVOTE else Step.PRECOMMIT
        vote = self._sign(lambda s: s.sign_vote(vote_type, height, round, block_hash, lock=lock))
        if not isinstance(vote, Vote):
            return
        self._own[(round, _SLOT[self._step])] = vote
        member = self._validators.get(vote.validator)
        if member is not None:
            self._add_vote(vote, member.power)
        self._emit(Broadcast(vote))

    def _propose(self, block_hash: Hash32, block: bytes, valid_round: int) -> None:
        height, round = self._height, self._round
        proposal = self._sign(
            lambda s: s.sign_proposal(height, round, block_hash, valid_round, block)
        )
        if not isinstance(proposal, Proposal):
            return
        self._checks[(block_hash, block)] = True
        self._valid_blocks.setdefault(block_hash, block)
        self._own[(round, _SLOT[Step.PROPOSE])] = proposal
        self._proposals.setdefault(round, proposal)
        self._known_hashes.add(block_hash)
        self._send_proposal(proposal)

    def _send_proposal(self, proposal: Proposal) -> None:
        """Broadcast a proposal, preceded by its proof of lock when it re-proposes."""
        if proposal.valid_round != NO_ROUND:
            pol = self._prevotes.get(proposal.valid_round)
            for vote in pol.votes_for(proposal.block_hash) if pol else []:
                self._emit(Broadcast(vote))
        self._emit(Broadcast(proposal))

    def _sign(self, sign: Callable[[PrivValidator], Proposal | Vote]) -> Proposal | Vote | None:
        """Sign with the validator key and emit the new signer state to persist.

        None when this node does not vote at this height, or when the signer refuses
        (its persisted state is ahead: the node signed there before a crash).
        """
        signer = self._signer
        if signer is None or self._me is None or self._validators.index_of(self._me) is None:
            return None
        try:
            message = sign(signer)
        except DoubleSignRefused:
            return None
        if signer.state is None:
            return None
        self._seq += 1
        self._out.append(PersistSignerState(self._seq, signer.state))  # never held
        return message

    def _emit(self, action: Action) -> None:
        """Emit an action, or hold it (keeping the order) while a signer state is unpersisted.

        Holding everything, not only messages, keeps the order of the actions: a
        held commit still precedes the next height's BuildProposal.
        """
        if self._acked < self._seq:
            self._held.append((self._seq, action))
        else:
            self._out.append(action)

    def _on_persisted(self, seq: int) -> None:
        self._acked = max(self._acked, seq)
        released = 0
        for needed, action in self._held:
            if needed > self._acked:
                break
            self._out.append(action)
            released += 1
        del self._held[:released]

    # ------------------------------------------------------------------ messages

    def _on_message(self, peer: PeerId, message: Message) -> None:
        if isinstance(message, DecisionRequest):
            if message.height < self._height:
                self._serve(peer, message.height)
            return
        height = message.height
        if height < self._height:
            return
        if height > self._height:
            self._note_ahead(peer, height)
            if height == self._height + 1 and not isinstance(message, Decision):
                self._buffer_next_height(peer, message)
            return
        if isinstance(message, Vote):
            self._on_vote(peer, message)
        elif isinstance(message, Proposal):
            self._on_proposal(peer, message)
        else:
            self._on_decision(peer, message)

    def _buffer_next_height(self, peer: PeerId, message: Proposal | Vote) -> None:
        """Keep a message of the next height for when we get there, if it can count there.

        Cheap checks first, the signature last, so junk costs at most one check and is
        reported; whatever is kept is a validator's genuine message, within bounds.
        """
        config, height = self.config, Height(self._height + 1)
        validators = self._sets.validator_set_at(height)
        # within the round window of the next height, and not kept already
        if message.round >= config.max_future_rounds or message in self._future:
            return
        # room in the buffer, and in this peer's share of it
        if len(self._future) >= config.max_future_messages:
            return
        if self._future_per_peer.get(peer, 0) >= config.max_future_messages_per_peer:
            return
        if isinstance(message, Vote):
            # signed by a validator of that height; at most a vote and one conflicting vote
            signer = validators.get(message.validator)
            slot, room = (message.validator, message.round, int(message.vote_type)), 2
            payload = vote_sign_bytes(
                config.chain_id,
                config.genesis_hash,
                message.vote_type,
                height,
                message.round,
                message.block_hash,
            )
        else:
            # the proposer of its round, with an earlier proof-of-lock round; one per round
            if not NO_ROUND <= message.valid_round < message.round:
                return
            signer = validators.proposer(height, message.round)
            if message.proposer != signer.address:
                return
            slot, room = (signer.address, message.round, 0), 1
            payload = proposal_sign_bytes(
                config.chain_id,
                config.genesis_hash,
                height,
                message.round,
                message.block_hash,
                message.valid_round,
            )
        if signer is None or self._future_slots.get(slot, 0) >= room:
            return
        # and really signed by that validator
        if not self._signed(peer, signer.public_key, payload, message.signature, message):
            return
        self._future[message] = peer
        self._future_per_peer[peer] = self._future_per_peer.get(peer, 0) + 1
        self._future_slots[slot] = self._future_slots.get(slot, 0) + 1

    def _signed(
        self,
        peer: PeerId | None,
        public_key: bytes,
        payload: bytes,
        signature: bytes,
        message: Proposal | Vote,
    ) -> bool:
        """Check a signature; hold a bad one against the peer that sent it.

        No honest node sends a message whose signature does not verify (it relays only
        messages it checked), so a bad signature is the sender's fault, whoever it names.
        """
        if self._verifier.verify(public_key, payload, signature):
            return True
        if peer is not None:
            what = "proposal" if isinstance(message, Proposal) else "vote"
            # Not held behind a signer write: it changes nothing this node sends.
            self._out.append(
                ReportPeer(
                    peer,
                    f"{what} of height {message.height}, round {message.round} "
                    "with an invalid signature",
                )
            )
        return False

    def _on_vote(self, peer: PeerId | None, vote: Vote) -> None:
        member = self._validators.get(vote.validator)
        if member is None:
            return
        tallies = self._prevotes if vote.vote_type == VoteType.PREVOTE else self._precommits
        tally = tallies.get(vote.round)
        if tally is not None and tally.has(vote.validator, vote.block_hash):
            return  # a copy of a vote already checked and counted
        config = self.config
        payload = vote_sign_bytes(
            config.chain_id,
            config.genesis_hash,
            vote.vote_type,
            vote.height,
            vote.round,
            vote.block_hash,
        )
        if not self._signed(peer, member.public_key, payload, vote.signature, vote):
            return
        self._add_vote(vote, member.power)
        self._note_activity(vote.validator)

    def _add_vote(self, vote: Vote, power: int) -> None:
        round = vote.round
        if round > self._round and not self._admit_future_round(vote.validator, round):
            return
        tallies = self._prevotes if vote.vote_type == VoteType.PREVOTE else self._precommits
        tally = tallies.get(round)
        if tally is None:
            tally = tallies[round] = VoteSet()
        value = vote.block_hash
        relevant = value is None or value in self._known_hashes
        result = tally.add(vote, power, keep_conflict=relevant)
        if result is AddResult.DUPLICATE:
            return
        if result is AddResult.CONFLICT:
            earlier = tally.get(vote.validator)
            key = (vote.validator, round, int(vote.vote_type))
            if earlier is not None and key not in self._reported:
                self._reported.add(key)
                self._emit(ReportEquivocation(earlier, vote))
            if not relevant:
                return
        if (
            vote.vote_type == VoteType.PRECOMMIT
            and value is not None
            and round not in self._commit_candidates
            and self._validators.is_quorum(tally.power_for(value))
        ):
            self._commit_candidates[round] = value
        self._note_round(round, vote.validator, power)

    def _on_proposal(self, peer: PeerId, proposal: Proposal) -> None:
        round = proposal.round
        # A proof-of-lock round must be an earlier round of this height.
        if not NO_ROUND <= proposal.valid_round < round:
            return
        proposer = self._validators.proposer(self._height, round)
        if proposal.proposer != proposer.address:
            return
        earlier = self._proposals.get(round)
        if earlier == proposal:
            return  # a re-gossiped copy of the proposal already checked
        config = self.config
        payload = proposal_sign_bytes(
            config.chain_id,
            config.genesis_hash,
            proposal.height,
            round,
            proposal.block_hash,
            proposal.valid_round,
        )
        if not self._signed(peer, proposer.public_key, payload, proposal.signature, proposal):
            return
        if earlier is not None:
            if (earlier.block_hash, earlier.valid_round, earlier.block) != (
                proposal.block_hash,
                proposal.valid_round,
                proposal.block,
            ):
                key = (proposal.proposer, round, 0)
                if key not in self._reported:
                    self._reported.add(key)
                    self._emit(ReportEquivocation(earlier, proposal))
            return
        if round > self._round and not self._admit_future_round(proposal.proposer, round):
            return
        self._proposals[round] = proposal
        self._known_hashes.add(proposal.block_hash)
        self._request_validation(proposal.block_hash, proposal.block, round)
        self._note_round(round, proposal.proposer, proposer.power)
        self._note_activity(proposal.proposer)

    def _on_decision(self, peer: PeerId, decision: Decision) -> None:
        """A committed block of our height from a peer: check its certificate, then validate."""
        try:
            certificate = decode_certificate(decision.certificate)
        except DecodingError as exc:
            self._out.append(ReportPeer(peer, f"decision of height {decision.height}: {exc}"))
            return
        if certificate.height != self._height:
            return
        if certificate.block_hash not in self._decision_certs:
            try:
                verify_certificate(
                    certificate,
                    certificate.block_hash,
                    self._validators,
                    self.config.suite,
                    self.config.chain_id,
                    self.config.genesis_hash,
                    verifier=self._verifier,
                )
            except InvalidCommitCertificate as exc:
                self._out.append(ReportPeer(peer, f"decision with a bad certificate: {exc}"))
                return
            self._decision_certs[certificate.block_hash] = certificate
            self._known_hashes.add(certificate.block_hash)
        # Validate these bytes even when the block is already certified: an earlier copy
        # may have come with bytes that do not hash to it.
        self._request_validation(certificate.block_hash, decision.block, certificate.round)

    def _admit_future_round(self, validator: Address, round: int) -> bool:
        """Keep messages for at most ``max_future_rounds`` later rounds per validator."""
        rounds = self._future_rounds.setdefault(validator, set())
        if round in rounds:
            return True
        if len(rounds) >= self.config.max_future_rounds:
            return False
        rounds.add(round)
        return True

    def _note_round(self, round: int, validator: Address, power: int) -> None:
        """Count a validator as present in a later round (for line 55)."""
        if round <= self._round:
            return
        present = self._round_power.setdefault(round, {})
        if validator in present:
            return
        present[validator] = power
        if round > self._skip_to and self._validators.is_one_third(sum(present.values())):
            self._skip_to = round

    def _note_activity(self, validator: Address) -> None:
        """Another validator is at our height: round 0 stops waiting for transactions."""
        if self._waiting_for_txs and validator != self._me:
            self._open_round_zero()

    # ------------------------------------------------------------------ validation

    def _request_validation(self, block_hash: Hash32, block: bytes, round: int) -> None:
        key = (block_hash, block)
        if key in self._checks:
            return
        known = self._valid_blocks.get(block_hash)
        if known is not None:
            self._checks[key] = known == block
            return
        self._checks[key] = None
        self._next_request += 1
        self._requests[self._next_request] = key
        self._emit(ValidateBlock(self._next_request, self._height, Round(round), block_hash, block))

    def _on_validated(self, event: BlockValidated) -> None:
        key = self._requests.pop(event.request_id, None)
        if key is None:
            return  # an answer for an earlier height
        claimed, block = key
        good = event.valid and event.block_hash == claimed
        self._checks[key] = good
        if good:
            self._valid_blocks.setdefault(claimed, block)

    def _on_built(self, event: ProposalBuilt) -> None:
        if (event.height, event.round) != (self._height, self._round):
            return
        if self._step != Step.PROPOSE or (event.round, _SLOT[Step.PROPOSE]) in self._own:
            return
        self._propose(event.block_hash, event.block, NO_ROUND)

    # ------------------------------------------------------------------ timers, gossip

    def _schedule(self, kind: TimeoutKind, round: Round, delay_ms: int) -> None:
        self._emit(ScheduleTimeout(kind, self._height, round, delay_ms))

    def _on_timeout(self, event: TimeoutFired) -> None:
        if event.kind is TimeoutKind.GOSSIP:
            if event.height == self._height:
                self._gossip()
            return
        if (event.height, event.round) != (self._height, self._round):
            return
        if event.kind is TimeoutKind.PROPOSE and self._step == Step.PROPOSE:
            self._vote(VoteType.PREVOTE, None)  # line 57
        elif event.kind is TimeoutKind.PREVOTE and self._step == Step.PREVOTE:
            self._vote(VoteType.PRECOMMIT, None)  # line 61
        elif event.kind is TimeoutKind.PRECOMMIT:
            self._start_round(Round(self._round + 1))  # line 65

    def _gossip(self) -> None:
        """Re-send our latest messages and our round's justification; catch up if behind."""
        self._ticks += 1
        round = self._round
        for (message_round, _), message in self._own.items():
            if message_round >= round - 1:
                if isinstance(message, Proposal):
                    self._send_proposal(message)
                else:
                    self._emit(Broadcast(message))
        previous = self._precommits.get(round - 1)
        if previous is not None and self._validators.is_quorum(previous.total_power):
            for vote in previous.votes():
                self._emit(Broadcast(vote))
        self._served.clear()
        self._asked.clear()
        if self._ticks >= 2:
            ahead = self._peer_ahead(1)
            if ahead is not None:
                self._ask_decision(ahead)
        self._schedule(TimeoutKind.GOSSIP, Round(0), self._timeouts.gossip_ms)

    def _note_ahead(self, peer: PeerId, height: int) -> None:
        if height > self._peer_heights.get(peer, 0):
            self._peer_heights[peer] = height
        if height >= self._height + 2:
            self._ask_decision(peer)

    def _peer_ahead(self, by: int) -> PeerId | None:
        """The peer seen furthest ahead, if at least ``by`` heights ahead of us."""
        best: tuple[int, PeerId] | None = None
        for peer, height in self._peer_heights.items():
            if height >= self._height + by and (best is None or height > best[0]):
                best = (height, peer)
        return None if best is None else best[1]

    def _ask_decision(self, peer: PeerId) -> None:
        if peer not in self._asked:
            self._asked.add(peer)
            self._emit(Send(peer, DecisionRequest(self._height)))

    def _serve(self, peer: PeerId, height: int) -> None:
        key = (peer, height)
        if key not in self._served:
            self._served.add(key)
            self._emit(ServeDecision(peer, Height(height)))
