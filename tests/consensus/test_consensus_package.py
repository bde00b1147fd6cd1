"""The package surface of baychain.consensus: what the node and governance import."""

from __future__ import annotations

import baychain.consensus as consensus


def test_public_names_are_pinned_and_importable() -> None:
    assert set(consensus.__all__) == {
        "NO_ROUND", "VALIDATOR_SET_DELAY", "Action", "Application", "BlockValidated", "Broadcast",
        "BuildProposal", "Commit", "CommitCertificate", "Decision", "DecisionRequest", "Engine",
        "EngineConfig", "Event", "FileSignerStore", "Lock", "MemorySignerStore", "Message",
        "MessageReceived", "PersistSignerState", "Persisted", "PrivValidator",
        "Proposal", "ProposalBuilt", "ReportEquivocation", "ReportPeer", "Round",
        "ScheduleTimeout", "Send", "ServeDecision", "SignerState", "SignerStore", "Step",
        "TimeoutConfig", "TimeoutFired", "TimeoutKind", "TransactionsAvailable", "ValidateBlock",
        "Validator", "ValidatorSchedule", "ValidatorSet", "ValidatorSetProvider", "Vote",
        "VoteType",
        "decode_certificate", "decode_message", "encode_message", "proposal_sign_bytes",
        "verify_certificate", "vote_sign_bytes",
    }  # fmt: skip
    for name in consensus.__all__:
        assert getattr(consensus, name) is not None


def test_the_solo_policy_still_imports() -> None:
    from baychain.consensus.solo import SoloPolicy

    assert SoloPolicy(1000, 10).is_due(now_ms=1000, last_block_ms=0, pending=1)


def test_the_simulators_application_implements_the_protocol() -> None:
    from baychain.consensus.sim.app import SimApplication
    from baychain.consensus.validators import Validator, ValidatorSchedule, ValidatorSet
    from baychain.crypto import get_suite
    from baychain.primitives import Address, Height

    suite = get_suite("ecdsa")
    schedule = ValidatorSchedule(ValidatorSet([Validator(Address(b"\x01" * 20), b"\x02" * 64, 1)]))
    app: consensus.Application = SimApplication(suite, schedule, 0, lambda: b"payload!")
    block_hash, block = app.build_proposal(Height(3), consensus.Round(1))
    assert app.validate_block(Height(3), block) == (block_hash, True)
    assert app.validate_block(Height(4), block) == (block_hash, False)
    assert app.validate_block(Height(3), b"junk") == (None, False)
    assert app.decision_at(Height(1)) is None
    app.commit(Height(1), block_hash, block, b"cert")
    assert app.decision_at(Height(1)) == (block, b"cert")
