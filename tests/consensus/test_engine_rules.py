"""The engine, rule by rule of Algorithm 1 (Buchman, Kwon, Milosevic 2018), plus its seams.

Each test drives one engine (validator ``ME`` of four, equal power) with messages
signed by the other validators' keys, and checks the actions it returns. Line
numbers refer to the paper's Algorithm 1.
"""

from __future__ import annotations

from dataclasses import replace

from baychain.consensus.actions import (
    Action,
    Broadcast,
    BuildProposal,
    Commit,
    PersistSignerState,
    ReportEquivocation,
    ScheduleTimeout,
    Send,
    ServeDecision,
    ValidateBlock,
)
from baychain.consensus.certificate import CommitCertificate, verify_certificate
from baychain.consensus.config import EngineConfig, TimeoutConfig
from baychain.consensus.engine import Engine
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
    proposal_sign_bytes,
    vote_sign_bytes,
)
from baychain.consensus.safety import PrivValidator, SignerState
from baychain.consensus.types import NO_ROUND, Proposal, Round, Step, Vote, VoteType
from baychain.consensus.validators import Validator, ValidatorSchedule, ValidatorSet
from baychain.consensus.verifier import SignatureVerifier
from baychain.crypto import dev_private_keys, get_suite
from baychain.primitives import Hash32, Height, PeerId

SUITE = get_suite("ecdsa")
CHAIN_ID = 7
GENESIS = Hash32(b"\x22" * 32)
KEYS = dev_private_keys("ecdsa", 5)
PUBLIC = [SUITE.public_key(k) for k in KEYS]
ADDRESS = [SUITE.address(pk) for pk in PUBLIC]
TIMEOUTS = TimeoutConfig(100, 10, 50, 10, 50, 10, 1000)
PEER = PeerId("peer")
PREVOTE, PRECOMMIT = VoteType.PREVOTE, VoteType.PRECOMMIT
ME = 0  # not the proposer of (1, 0): with four equal validators that is validator 1


def validator_set(n: int = 4, powers: list[int] | None = None) -> ValidatorSet:
    powers = powers or [1] * n
    return ValidatorSet(Validator(ADDRESS[i], PUBLIC[i], powers[i]) for i in range(n))


def block(name: str) -> tuple[bytes, Hash32]:
    data = name.encode()
    return data, SUITE.hash(data)


def vote(who: int, kind: VoteType, rnd: int, value: Hash32 | None, height: int = 1) -> Vote:
    payload = vote_sign_bytes(CHAIN_ID, GENESIS, kind, height, rnd, value)
    signature = SUITE.sign(KEYS[who], payload)
    return Vote(kind, Height(height), Round(rnd), value, ADDRESS[who], signature)


def proposal(who: int, rnd: int, data: bytes, vr: int = NO_ROUND, height: int = 1) -> Proposal:
    value = SUITE.hash(data)
    signature = SUITE.sign(
        KEYS[who], proposal_sign_bytes(CHAIN_ID, GENESIS, height, rnd, value, vr)
    )
    return Proposal(Height(height), Round(rnd), value, vr, data, ADDRESS[who], signature)


class Harness:
    """One engine whose driver persists at once and answers validations on request."""

    def __init__(
        self,
        me: int = ME,
        *,
        schedule: ValidatorSchedule | None = None,
        height: int = 1,
        state: SignerState | None = None,
        empty_blocks: bool = True,
        auto_persist: bool = True,
        verifier: SignatureVerifier | None = None,
        **limits: int,
    ) -> None:
        self.schedule = schedule or ValidatorSchedule(validator_set())
        self.signer = PrivValidator(SUITE, KEYS[me], CHAIN_ID, GENESIS, state)
        config = EngineConfig(
            CHAIN_ID, GENESIS, SUITE, TIMEOUTS, empty_blocks=empty_blocks, **limits
        )
        self.engine = Engine(
            config, self.schedule, Height(height), signer=self.signer, verifier=verifier
        )
        self.auto_persist = auto_persist
        self.persisted: list[SignerState] = []
        self.log: list[Action] = []
        self.last = self._driven(self.engine.start())

    def _driven(self, actions: list[Action]) -> list[Action]:
        out: list[Action] = []
        queue = list(actions)
        while queue:
            action = queue.pop(0)
            out.append(action)
            if isinstance(action, PersistSignerState) and self.auto_persist:
                self.persisted.append(action.state)
                queue.extend(self.engine.handle(Persisted(action.seq)))
        self.log += out
        return out

    def feed(self, event: Event) -> list[Action]:
        self.last = self._driven(self.engine.handle(event))
        return self.last

    def receive(self, *messages: Message, peer: PeerId = PEER) -> list[Action]:
        out: list[Action] = []
        for message in messages:
            out += self.feed(MessageReceived(peer, message))
        return out

    def answer_validations(
        self, valid: bool = True, asked: list[Action] | None = None
    ) -> list[Action]:
        """Answer the validations requested by ``asked`` (default: the last actions)."""
        out: list[Action] = []
        requests = self.last if asked is None else asked
        for action in [a for a in requests if isinstance(a, ValidateBlock)]:
            out += self.feed(BlockValidated(action.request_id, SUITE.hash(action.block), valid))
        return out

    def propose_and_validate(self, p: Proposal, valid: bool = True) -> list[Action]:
        received = self.receive(p)
        return received + self.answer_validations(valid, asked=received)

    def timeout(self, kind: TimeoutKind, rnd: int, height: int = 1) -> list[Action]:
        return self.feed(TimeoutFired(kind, Height(height), Round(rnd)))


def broadcasts(actions: list[Action], kind: type | None = None) -> list[Message]:
    return [
        a.message
        for a in actions
        if isinstance(a, Broadcast) and (kind is None or isinstance(a.message, kind))
    ]


def my_votes(actions: list[Action], kind: VoteType) -> list[Vote]:
    return [
        m
        for m in broadcasts(actions, Vote)
        if isinstance(m, Vote) and m.vote_type == kind and m.validator == ADDRESS[ME]
    ]


def timers(actions: list[Action], kind: TimeoutKind) -> list[ScheduleTimeout]:
    return [a for a in actions if isinstance(a, ScheduleTimeout) and a.kind is kind]


A, HA = block("block A")
B, HB = block("block B")


# ---------------------------------------------------------------- StartRound (line 11)


def test_start_round_non_proposer_only_starts_the_propose_timeout() -> None:
    h = Harness()
    assert not [a for a in h.last if isinstance(a, BuildProposal)]
    (timer,) = timers(h.last, TimeoutKind.PROPOSE)
    assert (timer.height, timer.round, timer.delay_ms) == (1, 0, TIMEOUTS.propose(0))


def test_start_round_proposer_asks_the_application_and_proposes_what_it_builds() -> None:
    h = Harness(me=1)
    assert [a for a in h.last if isinstance(a, BuildProposal)] == [
        BuildProposal(Height(1), Round(0))
    ]
    out = h.feed(ProposalBuilt(Height(1), Round(0), HA, A))
    (sent,) = broadcasts(out, Proposal)
    assert isinstance(sent, Proposal)
    assert (sent.block_hash, sent.valid_round, sent.proposer) == (HA, NO_ROUND, ADDRESS[1])
    # The proposer then handles its own proposal by line 22: it prevotes it.
    (prevote,) = [m for m in broadcasts(out, Vote) if isinstance(m, Vote)]
    assert prevote.block_hash == HA


def test_start_round_proposer_reproposes_its_valid_value_with_the_proof_of_lock() -> None:
    # Validator 2 proposes (1, 1). Make it see a polka for A in round 0 after nil precommits.
    h = Harness(me=2)
    h.propose_and_validate(proposal(1, 0, A))
    h.receive(vote(0, PREVOTE, 0, HA), vote(1, PREVOTE, 0, HA), vote(3, PREVOTE, 0, HA))
    assert h.engine.valid == (0, HA) and h.engine.locked == (0, HA)
    h.receive(*(vote(i, PRECOMMIT, 0, None) for i in (0, 1, 3)))
    out = h.timeout(TimeoutKind.PRECOMMIT, 0)
    assert h.engine.round == 1
    assert not [a for a in out if isinstance(a, BuildProposal)]
    (sent,) = broadcasts(out, Proposal)
    assert isinstance(sent, Proposal)
    assert (sent.round, sent.block_hash, sent.valid_round, sent.block) == (1, HA, 0, A)
    pol = {m.validator for m in broadcasts(out, Vote) if isinstance(m, Vote) and m.round == 0}
    assert len(pol) >= 3  # the polka of round 0 travels with the re-proposal


# ---------------------------------------------------------------- line 22


def test_line_22_prevotes_a_valid_proposal_when_unlocked() -> None:
    h = Harness()
    h.receive(proposal(1, 0, A))
    assert not my_votes(h.last, PREVOTE)  # waits for the application's verdict
    out = h.answer_validations(valid=True)
    assert [v.block_hash for v in my_votes(out, PREVOTE)] == [HA]
    assert h.engine.step == Step.PREVOTE


def test_line_22_prevotes_nil_for_an_invalid_proposal() -> None:
    h = Harness()
    out = h.propose_and_validate(proposal(1, 0, A), valid=False)
    assert [v.block_hash for v in my_votes(out, PREVOTE)] == [None]


def test_line_22_prevotes_nil_when_the_bytes_do_not_hash_to_the_claimed_block() -> None:
    h = Harness()
    honest = proposal(1, 0, A)
    forged = replace(honest, block=B)  # signature covers the hash, not the bytes
    out = h.propose_and_validate(forged)
    assert [v.block_hash for v in my_votes(out, PREVOTE)] == [None]


def test_line_22_prevotes_nil_when_locked_on_another_block_and_the_lock_when_it_matches() -> None:
    h = lock_on_a_in_round_0()
    h.receive(*(vote(i, PRECOMMIT, 0, None) for i in (1, 2, 3)))
    h.timeout(TimeoutKind.PRECOMMIT, 0)  # round 1: validator 2 proposes
    out = h.propose_and_validate(proposal(2, 1, B))
    assert [v.block_hash for v in my_votes(out, PREVOTE)] == [None]
    h.receive(*(vote(i, PRECOMMIT, 1, None) for i in (1, 2, 3)))
    h.timeout(TimeoutKind.PRECOMMIT, 1)  # round 2: validator 3 proposes A afresh
    out = h.propose_and_validate(proposal(3, 2, A))
    assert [v.block_hash for v in my_votes(out, PREVOTE)] == [HA]


def lock_on_a_in_round_0(**limits: int) -> Harness:
    h = Harness(**limits)
    h.propose_and_validate(proposal(1, 0, A))
    h.receive(vote(1, PREVOTE, 0, HA), vote(2, PREVOTE, 0, HA))
    assert h.engine.locked == (0, HA)
    assert [v.block_hash for v in my_votes(h.last, PRECOMMIT)] == [HA]
    return h


# ---------------------------------------------------------------- line 28


def test_line_28_prevotes_a_reproposal_backed_by_a_polka_when_the_lock_is_older() -> None:
    h = lock_on_a_in_round_0()
    # Round 1 saw a polka for B (the engine missed its proposal), round 2 re-proposes B.
    h.receive(*(vote(i, PRECOMMIT, 0, None) for i in (1, 2, 3)))
    h.timeout(TimeoutKind.PRECOMMIT, 0)
    h.receive(*(vote(i, PREVOTE, 1, HB) for i in (1, 2, 3)))
    h.timeout(TimeoutKind.PROPOSE, 1)
    h.receive(*(vote(i, PRECOMMIT, 1, None) for i in (1, 2, 3)))
    h.timeout(TimeoutKind.PRECOMMIT, 1)
    assert h.engine.round == 2
    out = h.propose_and_validate(proposal(3, 2, B, vr=1))
    assert [v.block_hash for v in my_votes(out, PREVOTE)] == [HB]


def test_line_28_prevotes_nil_when_locked_later_than_the_proof_round() -> None:
    h = Harness()
    h.receive(*(vote(i, PRECOMMIT, 0, None) for i in (1, 2, 3)))
    h.timeout(TimeoutKind.PRECOMMIT, 0)
    # Round 1 (proposer 2): lock on A.
    h.propose_and_validate(proposal(2, 1, A))
    h.receive(vote(2, PREVOTE, 1, HA), vote(3, PREVOTE, 1, HA))
    assert h.engine.locked == (1, HA)
    h.receive(*(vote(i, PRECOMMIT, 1, None) for i in (1, 2, 3)))
    h.timeout(TimeoutKind.PRECOMMIT, 1)
    # Round 2 (proposer 3) re-proposes B from a polka of round 0, older than the lock.
    h.receive(*(vote(i, PREVOTE, 0, HB) for i in (1, 2, 3)))
    out = h.propose_and_validate(proposal(3, 2, B, vr=0))
    assert [v.block_hash for v in my_votes(out, PREVOTE)] == [None]


def test_line_28_waits_for_the_proof_of_lock() -> None:
    h = Harness()
    h.receive(*(vote(i, PRECOMMIT, 0, None) for i in (1, 2, 3)))
    h.timeout(TimeoutKind.PRECOMMIT, 0)
    out = h.propose_and_validate(proposal(2, 1, B, vr=0))
    assert not my_votes(out, PREVOTE)
    out = h.receive(*(vote(i, PREVOTE, 0, HB) for i in (1, 2, 3)))
    assert [v.block_hash for v in my_votes(out, PREVOTE)] == [HB]


def test_a_proposal_whose_proof_round_is_not_earlier_is_ignored() -> None:
    h = Harness()
    h.receive(proposal(1, 0, A, vr=0))
    assert not [a for a in h.last if isinstance(a, ValidateBlock)]


# ---------------------------------------------------------------- lines 34, 44, 61


def test_line_34_a_quorum_of_mixed_prevotes_starts_the_prevote_timeout_once() -> None:
    h = Harness()
    h.timeout(TimeoutKind.PROPOSE, 0)  # prevote nil
    h.receive(vote(1, PREVOTE, 0, HA))
    out = h.receive(vote(2, PREVOTE, 0, HB))
    assert [t.delay_ms for t in timers(out, TimeoutKind.PREVOTE)] == [TIMEOUTS.prevote(0)]
    out = h.receive(vote(3, PREVOTE, 0, HA))
    assert not timers(out, TimeoutKind.PREVOTE)
    # Line 61: the timeout precommits nil.
    out = h.timeout(TimeoutKind.PREVOTE, 0)
    assert [v.block_hash for v in my_votes(out, PRECOMMIT)] == [None]


def test_line_44_a_nil_polka_precommits_nil() -> None:
    h = Harness()
    h.timeout(TimeoutKind.PROPOSE, 0)
    out = h.receive(vote(1, PREVOTE, 0, None), vote(2, PREVOTE, 0, None))
    assert [v.block_hash for v in my_votes(out, PRECOMMIT)] == [None]
    assert h.engine.step == Step.PRECOMMIT


# ---------------------------------------------------------------- line 36


def test_line_36_a_polka_in_precommit_step_only_updates_the_valid_value() -> None:
    h = Harness()
    h.propose_and_validate(proposal(1, 0, A))
    h.receive(vote(1, PREVOTE, 0, None), vote(2, PREVOTE, 0, HB))
    h.timeout(TimeoutKind.PREVOTE, 0)  # precommit nil
    assert h.engine.step == Step.PRECOMMIT
    out = h.receive(vote(3, PREVOTE, 0, HA), vote(2, PREVOTE, 0, HA), vote(1, PREVOTE, 0, HA))
    assert not my_votes(out, PRECOMMIT)
    assert h.engine.locked == (NO_ROUND, None)
    assert h.engine.valid == (0, HA)


# ---------------------------------------------------------------- lines 47, 65, 57


def test_line_47_a_quorum_of_mixed_precommits_starts_the_precommit_timeout_then_round_1() -> None:
    h = Harness()
    h.receive(vote(1, PRECOMMIT, 0, HA), vote(2, PRECOMMIT, 0, None))
    out = h.receive(vote(3, PRECOMMIT, 0, HB))
    assert [t.delay_ms for t in timers(out, TimeoutKind.PRECOMMIT)] == [TIMEOUTS.precommit(0)]
    out = h.timeout(TimeoutKind.PRECOMMIT, 0)  # line 65
    assert h.engine.round == 1 and h.engine.step == Step.PROPOSE
    assert [t.delay_ms for t in timers(out, TimeoutKind.PROPOSE)] == [TIMEOUTS.propose(1)]


def test_line_57_the_propose_timeout_prevotes_nil_and_stale_timeouts_do_nothing() -> None:
    h = Harness()
    assert not h.timeout(TimeoutKind.PROPOSE, 3)  # another round: ignored
    out = h.timeout(TimeoutKind.PROPOSE, 0)
    assert [v.block_hash for v in my_votes(out, PREVOTE)] == [None]
    assert not h.timeout(TimeoutKind.PROPOSE, 0)  # already past the propose step


def test_timeouts_grow_with_the_round() -> None:
    assert TIMEOUTS.propose(3) > TIMEOUTS.propose(2) > TIMEOUTS.propose(0)
    assert TIMEOUTS.prevote(5) == 50 + 5 * 10 and TIMEOUTS.precommit(5) == 100


# ---------------------------------------------------------------- line 49


def test_line_49_decides_with_a_certificate_that_verifies_and_starts_the_next_height() -> None:
    h = lock_on_a_in_round_0()
    out = h.receive(vote(1, PRECOMMIT, 0, HA), vote(3, PRECOMMIT, 0, HA))
    (commit,) = [a for a in out if isinstance(a, Commit)]
    assert (commit.height, commit.round, commit.block_hash, commit.block) == (1, 0, HA, A)
    verify_certificate(commit.certificate, HA, validator_set(), SUITE, CHAIN_ID, GENESIS, height=1)
    assert h.engine.height == 2 and h.engine.round == 0
    # Height 2, round 0 is proposed by validator 2; ME starts its propose timeout.
    assert timers(out, TimeoutKind.PROPOSE)[-1].height == 2


def test_line_49_decides_a_block_of_an_earlier_round() -> None:
    h = Harness()
    h.propose_and_validate(proposal(1, 0, A))
    h.receive(vote(1, PRECOMMIT, 1, None), vote(2, PRECOMMIT, 1, None))  # line 55: round 1
    assert h.engine.round == 1
    out = h.receive(*(vote(i, PRECOMMIT, 0, HA) for i in (1, 2, 3)))
    assert [(a.round, a.block_hash) for a in out if isinstance(a, Commit)] == [(0, HA)]


def test_line_49_waits_for_the_block_to_be_validated() -> None:
    h = Harness()
    asked = h.receive(proposal(1, 0, A))
    out = h.receive(*(vote(i, PRECOMMIT, 0, HA) for i in (1, 2, 3)))
    assert not [a for a in out if isinstance(a, Commit)]
    out = h.answer_validations(asked=asked)
    assert [a.block_hash for a in out if isinstance(a, Commit)] == [HA]


# ---------------------------------------------------------------- line 55


def test_line_55_messages_of_more_than_a_third_for_a_later_round_move_us_there() -> None:
    h = Harness()
    h.receive(vote(2, PREVOTE, 3, None))  # a quarter of the power: not enough
    assert h.engine.round == 0
    h.receive(vote(3, PRECOMMIT, 3, None))  # half of it: more than a third
    assert h.engine.round == 3
    assert timers(h.last, TimeoutKind.PROPOSE)[-1].round == 3


# ---------------------------------------------------------------- persistence before release


def test_messages_are_held_until_the_signer_state_is_persisted() -> None:
    h = Harness(auto_persist=False)
    out = h.timeout(TimeoutKind.PROPOSE, 0)
    (persist,) = [a for a in out if isinstance(a, PersistSignerState)]
    assert persist.state.step == Step.PREVOTE and persist.state.height == 1
    assert not broadcasts(out)
    # Anything emitted later waits too, keeping the order.
    later = h.receive(vote(1, PREVOTE, 0, None), vote(2, PREVOTE, 0, None))
    assert not broadcasts(later)
    released = h.feed(Persisted(persist.seq))
    assert [m.block_hash for m in broadcasts(released) if isinstance(m, Vote)] == [None]
    assert not [m for m in broadcasts(released) if isinstance(m, Vote) and m.round != 0]
    (second,) = [a for a in later if isinstance(a, PersistSignerState)]
    assert second.state.step == Step.PRECOMMIT
    released = h.feed(Persisted(second.seq))
    assert [m.vote_type for m in broadcasts(released) if isinstance(m, Vote)] == [PRECOMMIT]


# ---------------------------------------------------------------- restart


def test_a_restarted_engine_restores_round_step_lock_and_resends_its_votes() -> None:
    h = lock_on_a_in_round_0()
    state = h.persisted[-1]
    assert state.lock is not None and state.lock.block == A and len(state.lock.proof) == 3
    again = Harness(state=state)
    assert (again.engine.round, again.engine.step) == (0, Step.PRECOMMIT)
    assert again.engine.locked == (0, HA) and again.engine.valid == (0, HA)
    resent = {(m.vote_type, m.block_hash) for m in broadcasts(again.last) if isinstance(m, Vote)}
    assert resent == {(PREVOTE, HA), (PRECOMMIT, HA)}
    # It will never precommit anything else in round 0, and still decides A.
    out = again.receive(vote(1, PRECOMMIT, 0, HA), vote(3, PRECOMMIT, 0, HA))
    assert [a.block_hash for a in out if isinstance(a, Commit)] == [HA]


def test_a_restarted_engine_cannot_be_made_to_vote_again_in_a_signed_round() -> None:
    h = Harness()
    h.timeout(TimeoutKind.PROPOSE, 0)  # signed prevote nil at (1, 0)
    again = Harness(state=h.persisted[-1])
    out = again.propose_and_validate(proposal(1, 0, A))
    assert not my_votes(out, PREVOTE)  # already prevoted nil in this round


def test_an_engine_whose_signer_is_ahead_stays_silent_but_follows() -> None:
    h = Harness()
    h.timeout(TimeoutKind.PROPOSE, 0)
    ahead = replace(h.persisted[-1], height=Height(5))
    follower = Harness(state=ahead)
    out = follower.propose_and_validate(proposal(1, 0, A))
    assert not my_votes(out, PREVOTE)
    out = follower.receive(*(vote(i, PRECOMMIT, 0, HA) for i in (1, 2, 3)))
    assert [a.block_hash for a in out if isinstance(a, Commit)] == [HA]


# ---------------------------------------------------------------- catch-up, pipelining


def certificate_for(value: Hash32, signers: tuple[int, ...], height: int = 1) -> CommitCertificate:
    entries = tuple((i, vote(i, PRECOMMIT, 0, value, height).signature) for i in signers)
    return CommitCertificate(Height(height), Round(0), value, entries)


def test_a_decision_with_a_valid_certificate_is_committed_after_validation() -> None:
    h = Harness()
    good = certificate_for(HA, (1, 2, 3))
    h.receive(Decision(Height(1), A, good.encode()))
    out = h.answer_validations()
    (commit,) = [a for a in out if isinstance(a, Commit)]
    assert commit.certificate == good and h.engine.height == 2


def test_a_certified_decision_with_wrong_bytes_does_not_hide_the_right_ones() -> None:
    h = Harness()
    good = certificate_for(HA, (1, 2, 3))
    h.receive(Decision(Height(1), B, good.encode()))  # a peer sends the wrong block
    out = h.answer_validations()
    assert not [a for a in out if isinstance(a, Commit)]
    h.receive(Decision(Height(1), A, good.encode()))
    out = h.answer_validations()
    assert [a.block_hash for a in out if isinstance(a, Commit)] == [HA]


def test_a_decision_with_a_bad_certificate_is_ignored() -> None:
    h = Harness()
    weak = certificate_for(HA, (1, 2))
    out = h.receive(Decision(Height(1), A, weak.encode()))
    assert not [a for a in out if isinstance(a, ValidateBlock)]
    out = h.receive(Decision(Height(1), A, b"\xc0"))
    assert out == reports(out)  # nothing but the sender held to account (below)


def test_requests_for_old_heights_are_served_and_far_peers_are_asked() -> None:
    h = lock_on_a_in_round_0()
    h.receive(vote(1, PRECOMMIT, 0, HA), vote(3, PRECOMMIT, 0, HA))
    out = h.receive(DecisionRequest(Height(1)))
    assert [a for a in out if isinstance(a, ServeDecision)] == [ServeDecision(PEER, Height(1))]
    assert not [a for a in h.receive(DecisionRequest(Height(1))) if isinstance(a, ServeDecision)]
    out = h.receive(vote(1, PREVOTE, 0, None, height=4))  # two heights ahead of us
    assert [a for a in out if isinstance(a, Send)] == [Send(PEER, DecisionRequest(Height(2)))]


def test_next_height_messages_are_kept_and_validated_as_soon_as_the_height_is_decided() -> None:
    h = lock_on_a_in_round_0()
    future = proposal(2, 0, B, height=2)  # (2, 0) is proposed by validator 2
    out = h.receive(future)
    assert not [a for a in out if isinstance(a, ValidateBlock)]
    out = h.receive(vote(1, PRECOMMIT, 0, HA), vote(3, PRECOMMIT, 0, HA))
    kinds = [type(a).__name__ for a in out]
    assert kinds.index("Commit") < kinds.index("ValidateBlock")
    (check,) = [a for a in out if isinstance(a, ValidateBlock)]
    assert (check.height, check.block_hash) == (2, HB)


# ---------------------------------------------------------------- empty blocks, equivocation


def test_without_empty_blocks_round_0_waits_for_transactions() -> None:
    h = Harness(me=1, empty_blocks=False)
    assert h.engine.waiting_for_transactions
    assert not [a for a in h.last if isinstance(a, BuildProposal)]
    assert not timers(h.last, TimeoutKind.PROPOSE)
    out = h.feed(TransactionsAvailable())
    assert [a for a in out if isinstance(a, BuildProposal)] == [BuildProposal(Height(1), Round(0))]
    assert timers(out, TimeoutKind.PROPOSE)


def test_without_empty_blocks_another_validators_message_starts_the_round() -> None:
    h = Harness(empty_blocks=False)
    assert not timers(h.last, TimeoutKind.PROPOSE)
    out = h.receive(vote(2, PREVOTE, 0, None))
    assert timers(out, TimeoutKind.PROPOSE) and not h.engine.waiting_for_transactions


def test_equivocation_is_reported_and_the_polka_of_each_value_still_counts() -> None:
    h = Harness()
    h.propose_and_validate(proposal(1, 0, A))
    h.receive(vote(3, PREVOTE, 0, None))
    out = h.receive(vote(3, PREVOTE, 0, HA))  # validator 3 equivocates
    (report,) = [a for a in out if isinstance(a, ReportEquivocation)]
    assert {report.first.block_hash, report.second.block_hash} == {None, HA}
    out = h.receive(vote(2, PREVOTE, 0, HA))
    assert [v.block_hash for v in my_votes(out, PRECOMMIT)] == [HA]  # {0, 2, 3} prevoted A


def test_a_proposal_from_the_wrong_proposer_or_with_a_bad_signature_is_ignored() -> None:
    h = Harness()
    out = h.receive(proposal(3, 0, A))  # (1, 0) belongs to validator 1
    assert not [a for a in out if isinstance(a, ValidateBlock)]
    forged = replace(proposal(1, 0, A), signature=proposal(2, 0, A).signature)
    out = h.receive(forged)
    assert not [a for a in out if isinstance(a, ValidateBlock)]


# ---------------------------------------------------------------- validator-set changes


def test_a_validator_set_change_applies_from_its_height_and_non_members_do_not_vote() -> None:
    schedule = ValidatorSchedule(validator_set(4))
    schedule.schedule_change(Height(1), validator_set(5, [1, 1, 1, 1, 4]))  # effective at 3
    h = Harness(me=4, schedule=schedule, height=2)
    assert h.engine.validator_set == validator_set(4)
    out = h.timeout(TimeoutKind.PROPOSE, 0, height=2)
    assert not my_votes(out, PREVOTE) and not [a for a in out if isinstance(a, PersistSignerState)]
    joined = Harness(me=4, schedule=schedule, height=3)
    assert joined.engine.validator_set.total_power == 8
    out = joined.timeout(TimeoutKind.PROPOSE, 0, height=3)
    assert [v.height for v in broadcasts(out, Vote) if isinstance(v, Vote)] == [3]


# ---------------------------------------------------------------- the next-height buffer


MALLORY = PeerId("mallory")


def reports(actions: list[Action]) -> list[Action]:
    """The actions that hold a bad message against the peer that sent it."""
    return [a for a in actions if type(a).__name__ == "ReportPeer"]


def junk_vote(i: int, height: int = 2) -> Vote:
    """A next-height vote that names a validator but carries a made-up signature."""
    return Vote(PREVOTE, Height(height), Round(i % 4), None, ADDRESS[i % 4], bytes(64) + b"\x01")


def test_junk_for_the_next_height_cannot_crowd_out_the_honest_proposal() -> None:
    h = lock_on_a_in_round_0()
    # Ten thousand unsigned "votes" of height 2, all different (distinct block hashes).
    for i in range(10_000):
        fake = replace(junk_vote(i), block_hash=Hash32(i.to_bytes(32, "big")))
        h.receive(fake, peer=MALLORY)
    h.receive(proposal(2, 0, B, height=2))  # the real proposal of (2, 0)
    out = h.receive(vote(1, PRECOMMIT, 0, HA), vote(3, PRECOMMIT, 0, HA))
    checks = [a for a in out if isinstance(a, ValidateBlock)]
    assert [(c.height, c.block_hash) for c in checks] == [(2, HB)]


def test_the_next_height_buffer_keeps_only_verified_messages_of_validators() -> None:
    h = lock_on_a_in_round_0()
    outsider_key = dev_private_keys("ecdsa", 6)[5]
    outsider = Vote(
        PREVOTE, Height(2), Round(0), None, SUITE.address(SUITE.public_key(outsider_key)),
        SUITE.sign(outsider_key, vote_sign_bytes(CHAIN_ID, GENESIS, PREVOTE, 2, 0, None)),
    )  # fmt: skip
    h.receive(junk_vote(1), outsider, proposal(3, 0, B, height=2), peer=MALLORY)
    assert h.engine.next_height_backlog == 0  # bad signature, non-member, wrong proposer
    h.receive(vote(1, PREVOTE, 0, None, height=2), proposal(2, 0, B, height=2))
    assert h.engine.next_height_backlog == 2


def test_the_next_height_buffer_is_bounded_per_peer_per_slot_and_by_round() -> None:
    h = lock_on_a_in_round_0(max_future_messages_per_peer=2)
    honest = [vote(i, PREVOTE, 0, None, height=2) for i in (1, 2, 3)]
    h.receive(*honest, peer=MALLORY)
    assert h.engine.next_height_backlog == 2  # the third is over Mallory's share
    h.receive(honest[2])  # another peer still gets its share
    assert h.engine.next_height_backlog == 3
    # One proposal per round: an equivocating proposer's second block is not kept.
    h.receive(proposal(2, 0, B, height=2), proposal(2, 0, b"block C", height=2))
    assert h.engine.next_height_backlog == 4
    # Rounds beyond the window (max_future_rounds) of the next height are not kept.
    far = 4  # rounds 0..3 are the window by default
    h.receive(vote(1, PREVOTE, far, None, height=2), peer=PeerId("carol"))
    assert h.engine.next_height_backlog == 4


# ---------------------------------------------------------------- bad signatures and peers


class CountingVerifier:
    """Checks with the suite and counts how often it was asked."""

    def __init__(self) -> None:
        self.calls = 0

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        self.calls += 1
        return SUITE.verify(public_key, message, signature)


def test_a_bad_signature_is_reported_against_the_peer_that_sent_it() -> None:
    h = Harness()
    forged_vote = replace(vote(2, PREVOTE, 0, HA), signature=vote(3, PREVOTE, 0, HA).signature)
    forged_proposal = replace(proposal(1, 0, A), signature=proposal(2, 0, A).signature)
    out = h.receive(forged_vote, forged_proposal, junk_vote(1), peer=MALLORY)
    assert [getattr(a, "peer", None) for a in reports(out)] == [MALLORY] * 3
    assert not reports(h.receive(vote(2, PREVOTE, 0, HA), proposal(1, 0, A)))


def test_a_decision_with_a_forged_certificate_is_reported() -> None:
    h = Harness()
    forged = CommitCertificate(
        Height(1), Round(0), HA, tuple((i, vote(i, PRECOMMIT, 0, HB).signature) for i in (1, 2, 3))
    )
    out = h.receive(Decision(Height(1), A, forged.encode()), peer=MALLORY)
    assert [getattr(a, "peer", None) for a in reports(out)] == [MALLORY]


def test_a_replayed_message_is_not_verified_again() -> None:
    counting = CountingVerifier()
    h = Harness(verifier=counting)
    forged = replace(vote(2, PREVOTE, 0, HA), signature=vote(3, PREVOTE, 0, HA).signature)
    out = h.receive(forged, forged, forged, peer=MALLORY)
    assert counting.calls == 1
    assert len(reports(out)) == 3  # every copy still counts against the sender
    good = proposal(1, 0, A)
    h.receive(good, good, good)  # a proposal re-gossiped with its whole block
    assert counting.calls == 2


def test_a_vote_signed_for_another_network_with_the_same_chain_id_does_not_count() -> None:
    h = Harness()
    other = Hash32(b"\x33" * 32)  # another network: same chain id, same keys, other genesis
    payload = vote_sign_bytes(CHAIN_ID, other, PREVOTE, 1, 0, None)
    theirs = Vote(PREVOTE, Height(1), Round(0), None, ADDRESS[2], SUITE.sign(KEYS[2], payload))
    out = h.receive(theirs, peer=MALLORY)
    assert [getattr(a, "peer", None) for a in reports(out)] == [MALLORY]
