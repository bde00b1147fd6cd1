"""The committed contract artifacts match their Solidity sources, and the package loads them.

DESIGN.md: the platform's own contracts are kept as source plus committed compiled
artifacts, so a node never needs a compiler, and CI checks the artifacts still match
the sources. The sources are ``contracts/src/``, the artifacts ``src/baychain/artifacts/``
(read by :mod:`baychain.artifacts`). The full check recompiles with the pinned solc
(``contracts/build.mjs --check``) and needs node plus ``npm ci --prefix contracts``; the
source-hash and shape checks below need neither and always run.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from baychain.artifacts import UnknownArtifact, artifact_names, load_artifact
from baychain.errors import NotFound

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
ARTIFACTS = ROOT / "src" / "baychain" / "artifacts"
EXPECTED = {
    "Token": "src/Token.sol",
    "Probe": "src/Probe.sol",
    "Child": "src/Probe.sol",
    "Evidence": "src/Evidence.sol",
}


def _artifact(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ARTIFACTS / f"{name}.json").read_text())
    return data


def _function_signatures(artifact: dict[str, Any]) -> set[str]:
    return {
        f"{item['name']}({','.join(p['type'] for p in item['inputs'])})"
        for item in artifact["abi"]
        if item["type"] == "function"
    }


def test_recompiling_the_sources_reproduces_the_committed_artifacts() -> None:
    node = shutil.which("node")
    if node is None or not (CONTRACTS / "node_modules" / "solc").is_dir():
        pytest.skip("needs node and the pinned solc: run `npm ci --prefix contracts`")
    result = subprocess.run(
        [node, str(CONTRACTS / "build.mjs"), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("name", "source"), sorted(EXPECTED.items()))
def test_artifact_records_the_hash_of_its_current_source(name: str, source: str) -> None:
    artifact = _artifact(name)
    assert artifact["sourceName"] == source
    digest = hashlib.sha256((CONTRACTS / source).read_bytes()).hexdigest()
    assert artifact["sourceSha256"] == digest, (
        f"{source} changed since {name}.json was built: run `node contracts/build.mjs`"
    )


# Probe (and Child, in the same source) exercise Cancun opcodes; the application
# contracts target Shanghai so their bytecode also runs on peers without Cancun.
EVM_VERSIONS = {"Probe": "cancun", "Child": "cancun"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_artifact_holds_code_for_its_evm_version_from_the_pinned_compiler(name: str) -> None:
    artifact = _artifact(name)
    assert artifact["compiler"]["version"].startswith("0.8.28+")
    assert artifact["compiler"]["settings"] == {
        "evmVersion": EVM_VERSIONS.get(name, "shanghai"),
        "optimizer": {"enabled": True, "runs": 200},
    }
    creation = bytes.fromhex(artifact["bytecode"].removeprefix("0x"))
    runtime = bytes.fromhex(artifact["deployedBytecode"].removeprefix("0x"))
    assert creation and runtime
    # solc's creation code ends with (a copy of) the runtime code and constructor tail
    assert runtime[:64] in creation


def test_every_artifact_has_a_source_contract() -> None:
    assert {p.stem for p in ARTIFACTS.glob("*.json")} == set(EXPECTED)


def test_token_abi_is_erc20() -> None:
    token = _artifact("Token")
    assert {
        "transfer(address,uint256)",
        "approve(address,uint256)",
        "transferFrom(address,address,uint256)",
        "balanceOf(address)",
        "allowance(address,address)",
        "totalSupply()",
        "decimals()",
    } <= _function_signatures(token)
    events = {item["name"]: item for item in token["abi"] if item["type"] == "event"}
    assert [p["indexed"] for p in events["Transfer"]["inputs"]] == [True, True, False]
    assert [p["indexed"] for p in events["Approval"]["inputs"]] == [True, True, False]


def test_probe_abi_covers_each_feature() -> None:
    probe = _artifact("Probe")
    assert {
        "set(uint256,uint256)",
        "get(uint256)",
        "failWithReason()",
        "failWithCustomError(uint256)",
        "deposit()",
        "destroy()",
        "spawn(uint256)",
        "spawn2(bytes32,uint256)",
        "spawnAndDestroy(uint256)",
        "recover(bytes32,uint8,bytes32,bytes32)",
        "hashes(bytes)",
        "modexp(uint256,uint256,uint256)",
        "blockInfo()",
        "transientRoundTrip(uint256)",
    } <= _function_signatures(probe)
    errors = [item["name"] for item in probe["abi"] if item["type"] == "error"]
    assert errors == ["Refused"]


def test_evidence_abi_anchors_once_and_reads_records() -> None:
    evidence = _artifact("Evidence")
    assert {
        "anchor(bytes32,string)",
        "isAnchored(bytes32)",
        "recordOf(bytes32)",
        "anchoredCount()",
        "MAX_METADATA_BYTES()",
    } == _function_signatures(evidence)
    entries = {item["name"]: item for item in evidence["abi"] if item["type"] in ("event", "error")}
    assert [p["indexed"] for p in entries["Anchored"]["inputs"]] == [True, True, False]
    assert {"AlreadyAnchored", "ZeroDigest", "MetadataTooLong", "NotAnchored"} <= set(entries)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_load_artifact_reads_the_committed_json(name: str) -> None:
    raw = _artifact(name)
    loaded = load_artifact(name)
    assert loaded.name == name
    assert list(loaded.abi) == raw["abi"]
    assert "0x" + loaded.bytecode.hex() == raw["bytecode"]
    assert "0x" + loaded.deployed_bytecode.hex() == raw["deployedBytecode"]


def test_artifact_names_are_the_shipped_files() -> None:
    assert artifact_names() == tuple(sorted(EXPECTED))


def test_an_unknown_artifact_names_the_available_ones() -> None:
    with pytest.raises(UnknownArtifact, match="'Tokn'; available: Child, Evidence, Probe, Token"):
        load_artifact("Tokn")
    with pytest.raises(NotFound):
        load_artifact("../contracts/package")
