"""Workloads: the transactions a benchmark sends, set up and signed before the clock starts.

Glossary:

- *sender*: a funded key that signs load (the development accounts);
- *lane*: one sender's transactions in nonce order; a lane's transaction ``n``
  must reach the node before ``n + 1`` (automining peers refuse nonce gaps);
- *level*: a position in the lanes: level ``k`` holds every sender's ``k``-th
  transaction.

The workloads (:data:`WORKLOADS`):

- ``eth-transfer``: 1 wei to another sender (or to a population address);
- ``erc20-transfer``: ``Token.transfer(to, 1)`` (contracts/src/Token.sol, EIP-20);
- ``evidence``: ``Evidence.anchor(digest, metadata)`` with a distinct digest per
  transaction, derived from the seed, and a short JSON metadata string;
- ``contract-deploy``: a new Token per transaction;
- ``mix``: each transaction drawn from :data:`MIX_WEIGHTS` with a seeded RNG.

:func:`prepare` does the setup over JSON-RPC (deploy Token and Evidence with the
first sender, give every sender tokens, measure gas with ``eth_estimateGas``),
then signs every transaction and returns a :class:`PreparedLoad`. The same seed,
keys and chain state give byte-identical transactions.

Fees: an EIP-1559 transaction (SM2's type on ``sm`` chains) with tip
``eth_maxPriorityFeePerGas`` and fee cap ``FEE_HEADROOM`` times the larger of
``eth_gasPrice`` and the head's base fee, plus the tip, so a base fee rising
under load (Hardhat) does not strand the pre-signed tail. A consortium chain
with a zero base fee and zero tip pays nothing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import multiprocessing
import os
import random
import time
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from baychain.artifacts import Artifact, load_artifact
from baychain.bench.errors import BenchError
from baychain.crypto import get_suite
from baychain.primitives import Address
from baychain.sdk import abi
from baychain.sdk.client import Client, RpcCallError, Signer

__all__ = [
    "MIX_WEIGHTS",
    "WORKLOADS",
    "PreparedLoad",
    "SignedTx",
    "TxSpec",
    "lane_lengths",
    "plan_lanes",
    "prepare",
]

WORKLOADS = ("eth-transfer", "erc20-transfer", "evidence", "contract-deploy", "mix")
"""The workload names :func:`prepare` accepts."""
MIX_WEIGHTS: dict[str, int] = {
    "erc20-transfer": 50,
    "eth-transfer": 30,
    "evidence": 15,
    "contract-deploy": 5,
}
"""The share (percent) of each kind of transaction in the ``mix`` workload."""

FEE_HEADROOM = 3
"""The fee cap is this many times the current gas price (plus the tip)."""
GAS_MARGIN_PERCENT = 125
"""Gas limit = ``eth_estimateGas`` x this / 100: state a later transaction meets may cost more."""
TOKEN_SUPPLY = 10**30
"""Smallest units minted to the first sender by the benchmark's Token."""
TOKENS_PER_SENDER = 10**24
"""What setup gives each other sender, far more than its transfers of one unit spend."""
SETUP_TIMEOUT_S = 120.0
"""How long setup waits for its own transactions (deploys, token funding) to commit."""
SIGN_POOL_MIN_TXS = 2_000
"""From this many transactions on, signing runs in a process pool."""
RPC_CHUNK = 100
"""Requests per JSON-RPC batch during setup."""

_KINDS_NEEDING = {"erc20-transfer": "Token", "evidence": "Evidence"}
_FRESH_ADDRESS = Address(hashlib.sha256(b"baychain/bench/fresh").digest()[:20])


@dataclass(frozen=True, slots=True)
class SignedTx:
    """A signed transaction ready to send."""

    raw: bytes
    tx_hash: str
    """``0x`` + the suite's hash of ``raw`` in lower-case hex, as blocks list it."""
    kind: str
    """The workload it belongs to (``mix`` draws several kinds)."""


@dataclass(frozen=True, slots=True)
class TxSpec:
    """What one transaction does, before its nonce and signature."""

    kind: str
    to: Address | None
    value: int
    data: bytes
    gas_limit: int


@dataclass(frozen=True)
class PreparedLoad:
    """Pre-signed transactions in per-sender lanes (nonce order), and what setup found."""

    workload: str
    suite: str
    chain_id: int
    lanes: tuple[tuple[SignedTx, ...], ...]
    setup: dict[str, Any] = field(default_factory=dict)
    """Contract addresses, gas limits, fees and setup time, for the manifest."""

    @property
    def total(self) -> int:
        """How many transactions the load holds."""
        return sum(len(lane) for lane in self.lanes)


@dataclass(frozen=True, slots=True)
class _Fees:
    max_fee_per_gas: int
    max_priority_fee_per_gas: int


def lane_lengths(txs: int, senders: int) -> list[int]:
    """Spread ``txs`` over ``senders`` lanes as evenly as possible, the longer lanes first."""
    if senders < 1:
        raise BenchError(f"a load needs at least one sender, got {senders}")
    if txs < 0:
        raise BenchError(f"the transaction count cannot be negative, got {txs}")
    share, extra = divmod(txs, senders)
    return [share + (1 if i < extra else 0) for i in range(senders)]


def plan_lanes(
    workload: str,
    *,
    senders: Sequence[Address],
    txs: int,
    specs: dict[str, TxSpec],
    recipients: Sequence[Address] | None = None,
    seed: int = 0,
) -> list[list[TxSpec]]:
    """Each sender's transactions (level by level), before nonces and signatures.

    ``specs`` holds a template per kind (its ``to`` is the contract for contract
    calls; transfers get their recipient here and calls their arguments). The
    result depends only on the arguments: the seed drives the mix and the choice
    among ``recipients`` (by default the other senders, in turn).
    """
    if workload not in WORKLOADS:
        raise BenchError(f"unknown workload {workload!r}; choose one of {', '.join(WORKLOADS)}")
    lengths = lane_lengths(txs, len(senders))
    rng = random.Random(seed)
    kinds, weights = list(MIX_WEIGHTS), list(MIX_WEIGHTS.values())
    lanes: list[list[TxSpec]] = [[] for _ in senders]
    for level in range(max(lengths, default=0)):
        for index, length in enumerate(lengths):
            if level >= length:
                continue
            kind = rng.choices(kinds, weights)[0] if workload == "mix" else workload
            if recipients:
                to = recipients[rng.randrange(len(recipients))]
            else:
                to = _other_sender(senders, index, level)
            lanes[index].append(_instantiate(specs[kind], to, _digest(seed, index, level)))
    return lanes


def _other_sender(senders: Sequence[Address], index: int, level: int) -> Address:
    """Another sender than ``index`` (itself when alone), turning with the level."""
    if len(senders) == 1:
        return senders[0]
    return senders[(index + 1 + level % (len(senders) - 1)) % len(senders)]


def _digest(seed: int, sender: int, level: int) -> bytes:
    """The evidence digest of one transaction: distinct per (seed, sender, level)."""
    material = b"baychain/bench/evidence" + b"%d/%d/%d" % (seed, sender, level)
    return hashlib.sha256(material).digest()


def _metadata(digest: bytes) -> str:
    """A short JSON document of fixed length, so every anchor costs the same gas."""
    return json.dumps({"source": "baychain-bench", "doc": digest[:8].hex()}, separators=(",", ":"))


def _instantiate(template: TxSpec, to: Address, digest: bytes) -> TxSpec:
    if template.kind == "eth-transfer":
        return TxSpec(template.kind, to, 1, b"", template.gas_limit)
    if template.kind == "erc20-transfer":
        data = _transfer_data(to, 1)
        return TxSpec(template.kind, template.to, 0, data, template.gas_limit)
    if template.kind == "evidence":
        data = abi.call_data(_evidence().abi, "anchor", digest, _metadata(digest))
        return TxSpec(template.kind, template.to, 0, data, template.gas_limit)
    return template  # contract-deploy: every deploy is the same creation code


@functools.cache
def _token() -> Artifact:
    return load_artifact("Token")


@functools.cache
def _evidence() -> Artifact:
    return load_artifact("Evidence")


def _transfer_data(to: Address, amount: int) -> bytes:
    return abi.call_data(_token().abi, "transfer", to, amount)


def _token_deploy_data() -> bytes:
    return abi.deploy_data(_token(), "Bench Token", "BENCH", TOKEN_SUPPLY)


def prepare(
    client: Client,
    workload: str,
    *,
    suite: str,
    sender_keys: Sequence[bytes],
    txs: int,
    recipients: Sequence[Address] | None = None,
    seed: int = 0,
    token: Address | None = None,
) -> PreparedLoad:
    """Set the chain up for ``workload`` and sign ``txs`` transactions from ``sender_keys``.

    Setup (before the clock): read the chain id and fees; deploy Token (unless
    ``token`` names one every sender already holds, e.g. a population's
    genesis token) and Evidence with the first sender as the workload needs,
    give each other sender :data:`TOKENS_PER_SENDER`, wait for those
    transactions; estimate each kind's gas once; read each sender's pending
    nonce. Raises :class:`BenchError` when a setup transaction fails or does not
    commit within :data:`SETUP_TIMEOUT_S`, or an argument is out of range.
    """
    if workload not in WORKLOADS:
        raise BenchError(f"unknown workload {workload!r}; choose one of {', '.join(WORKLOADS)}")
    if not sender_keys:
        raise BenchError("a load needs at least one sender key")
    if txs < 1:
        raise BenchError(f"a load needs at least one transaction, got {txs}")
    started = time.monotonic()
    signers = [Signer.from_key(suite, key) for key in sender_keys]
    addresses = [signer.address for signer in signers]
    chain_id = client.chain_id()
    fees = _read_fees(client)
    needed = {"erc20-transfer", "evidence"} if workload == "mix" else {workload}
    contracts: dict[str, Address] = {}
    if "erc20-transfer" in needed and token is not None:
        contracts["Token"] = token
    names = sorted(
        {_KINDS_NEEDING[kind] for kind in needed if kind in _KINDS_NEEDING} - set(contracts)
    )
    if names:
        contracts.update(_deploy_contracts(client, signers[0], chain_id, fees, names))
        if "Token" in names and len(signers) > 1:
            _fund_tokens(client, signers[0], chain_id, fees, contracts["Token"], addresses[1:])
    kinds = list(MIX_WEIGHTS) if workload == "mix" else [workload]
    specs = {kind: _template(client, kind, addresses[0], contracts) for kind in kinds}
    nonces = _call_many(
        client.url, "eth_getTransactionCount", [["0x" + a.hex(), "pending"] for a in addresses]
    )
    lanes = plan_lanes(
        workload, senders=addresses, txs=txs, specs=specs, recipients=recipients, seed=seed
    )
    tasks = [
        (suite, signers[i].private_key, chain_id, int(nonces[i], 16), fees, lane)
        for i, lane in enumerate(lanes)
    ]
    signed = _sign_all(tasks, txs)
    return PreparedLoad(
        workload=workload,
        suite=suite,
        chain_id=chain_id,
        lanes=tuple(tuple(lane) for lane in signed),
        setup={
            "contracts": {name: "0x" + address.hex() for name, address in contracts.items()},
            "gas_limits": {kind: spec.gas_limit for kind, spec in specs.items()},
            "max_fee_per_gas": fees.max_fee_per_gas,
            "max_priority_fee_per_gas": fees.max_priority_fee_per_gas,
            "setup_seconds": round(time.monotonic() - started, 3),
        },
    )


def _read_fees(client: Client) -> _Fees:
    gas_price = int(client.call("eth_gasPrice"), 16)
    latest = client.call("eth_getBlockByNumber", "latest", False)
    base_fee = int(latest.get("baseFeePerGas") or "0x0", 16)
    try:
        tip = int(client.call("eth_maxPriorityFeePerGas"), 16)
    except RpcCallError:  # a node without the method: the part of the price above the base fee
        tip = max(gas_price - base_fee, 0)
    return _Fees(FEE_HEADROOM * max(gas_price, base_fee) + tip, tip)


def _template(client: Client, kind: str, sender: Address, contracts: dict[str, Address]) -> TxSpec:
    """The kind's transaction shape with its gas limit, measured once with eth_estimateGas.

    The estimate sends to an address that holds nothing yet, the costliest case
    (a new storage slot), and the margin covers state later transactions meet.
    """
    if kind == "contract-deploy":
        shape = TxSpec(kind, None, 0, _token_deploy_data(), 0)
    else:
        shape = TxSpec(kind, contracts.get(_KINDS_NEEDING.get(kind, "")), 0, b"", 0)
    probe = _instantiate(shape, _FRESH_ADDRESS, _digest(-1, 0, 0))
    estimate = _estimate_gas(client, sender, probe)
    gas_limit = estimate if kind == "eth-transfer" else estimate * GAS_MARGIN_PERCENT // 100
    return replace(shape, gas_limit=gas_limit)


def _estimate_gas(client: Client, sender: Address, spec: TxSpec) -> int:
    call: dict[str, str] = {"from": "0x" + sender.hex(), "value": hex(spec.value)}
    if spec.to is not None:
        call["to"] = "0x" + spec.to.hex()
    if spec.data:
        call["data"] = "0x" + spec.data.hex()
    try:
        return int(client.call("eth_estimateGas", call), 16)
    except RpcCallError as error:
        raise BenchError(
            f"cannot estimate the gas of a {spec.kind} transaction: {error}"
        ) from error


def _deploy_contracts(
    client: Client, signer: Signer, chain_id: int, fees: _Fees, names: Sequence[str]
) -> dict[str, Address]:
    """Deploy each named artifact from ``signer``; return name -> address once committed."""
    nonce = client.nonce(signer.address)
    hashes: list[str] = []
    for offset, name in enumerate(names):
        data = _token_deploy_data() if name == "Token" else load_artifact(name).bytecode
        spec = TxSpec(name, None, 0, data, 0)
        gas_limit = _estimate_gas(client, signer.address, spec) * GAS_MARGIN_PERCENT // 100
        raw = _sign_one(signer, chain_id, nonce + offset, fees, replace(spec, gas_limit=gas_limit))
        hashes.append(_send_raw(client, raw, f"deploying {name}"))
    receipts = _wait_receipts(client.url, hashes, what="contract deployment")
    return {
        name: Address(bytes.fromhex(receipt["contractAddress"][2:]))
        for name, receipt in zip(names, receipts, strict=True)
    }


def _fund_tokens(
    client: Client,
    signer: Signer,
    chain_id: int,
    fees: _Fees,
    token: Address,
    holders: Sequence[Address],
) -> None:
    """Send TOKENS_PER_SENDER from ``signer`` to each holder, one request after another.

    The transfers share a sender, so each is sent after the node accepted the
    previous one (an automining node refuses a nonce gap).
    """
    probe = TxSpec("token funding", token, 0, _transfer_data(holders[0], TOKENS_PER_SENDER), 0)
    gas_limit = _estimate_gas(client, signer.address, probe) * GAS_MARGIN_PERCENT // 100
    nonce = client.nonce(signer.address)
    hashes = []
    for offset, holder in enumerate(holders):
        spec = TxSpec(
            "token funding", token, 0, _transfer_data(holder, TOKENS_PER_SENDER), gas_limit
        )
        raw = _sign_one(signer, chain_id, nonce + offset, fees, spec)
        hashes.append(_send_raw(client, raw, "giving the senders tokens"))
    _wait_receipts(client.url, hashes, what="token funding")


def _send_raw(client: Client, raw: bytes, what: str) -> str:
    try:
        return "0x" + client.send_raw(raw).hex()
    except RpcCallError as error:
        raise BenchError(f"setup failed while {what}: {error}") from error


def _sign_one(signer: Signer, chain_id: int, nonce: int, fees: _Fees, spec: TxSpec) -> bytes:
    return signer.sign(
        chain_id=chain_id,
        nonce=nonce,
        to=spec.to,
        value=spec.value,
        data=spec.data,
        gas_limit=spec.gas_limit,
        max_fee_per_gas=fees.max_fee_per_gas,
        max_priority_fee_per_gas=fees.max_priority_fee_per_gas,
    )


_SignTask = tuple[str, bytes, int, int, _Fees, list[TxSpec]]


def _sign_lane(task: _SignTask) -> list[SignedTx]:
    """Sign one sender's lane from ``first_nonce`` on (runs in pool workers too)."""
    suite_name, key, chain_id, first_nonce, fees, specs = task
    signer = Signer.from_key(suite_name, key)
    suite = get_suite(suite_name)
    signed = []
    for offset, spec in enumerate(specs):
        raw = _sign_one(signer, chain_id, first_nonce + offset, fees, spec)
        signed.append(SignedTx(raw, "0x" + suite.hash(raw).hex(), spec.kind))
    return signed


def _sign_all(tasks: list[_SignTask], txs: int) -> list[list[SignedTx]]:
    """Sign every lane, in a process pool for large loads; the output does not depend on it."""
    workers = min(os.cpu_count() or 1, len(tasks))
    if txs < SIGN_POOL_MIN_TXS or workers < 2:
        return [_sign_lane(task) for task in tasks]
    # spawn, not fork: the caller may run threads (resource samplers, log readers).
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(_sign_lane, tasks, chunksize=max(1, len(tasks) // (4 * workers))))


def _call_many(url: str, method: str, params: Sequence[Sequence[Any]]) -> list[Any]:
    """Call ``method`` once per parameter list, in JSON-RPC batches; results in order."""
    results: list[Any] = []
    for start in range(0, len(params), RPC_CHUNK):
        chunk = params[start : start + RPC_CHUNK]
        body = [
            {"jsonrpc": "2.0", "id": i, "method": method, "params": list(p)}
            for i, p in enumerate(chunk)
        ]
        request = urllib.request.Request(
            url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answers = json.loads(response.read())
        if not isinstance(answers, list):
            raise BenchError(f"{method}: the node did not answer a batch request: {answers}")
        by_id = {answer.get("id"): answer for answer in answers}
        for i in range(len(chunk)):
            answer = by_id.get(i, {"error": {"message": "no answer in the batch"}})
            if "error" in answer:
                raise BenchError(f"{method} failed: {answer['error'].get('message', '')}")
            results.append(answer["result"])
    return results


def _wait_receipts(url: str, hashes: Sequence[str], *, what: str) -> list[dict[str, Any]]:
    """Wait until every transaction has a receipt; raise BenchError if one failed."""
    deadline = time.monotonic() + SETUP_TIMEOUT_S
    receipts: dict[str, dict[str, Any]] = {}
    while True:
        missing = [h for h in hashes if h not in receipts]
        if not missing:
            break
        if time.monotonic() > deadline:
            raise BenchError(
                f"{what}: {len(missing)} setup transactions not committed after "
                f"{SETUP_TIMEOUT_S:.0f} s (first {missing[0]})"
            )
        found = _call_many(url, "eth_getTransactionReceipt", [[h] for h in missing])
        for tx_hash, receipt in zip(missing, found, strict=True):
            if receipt is not None:
                if int(receipt.get("status", "0x1"), 16) != 1:
                    raise BenchError(f"{what}: transaction {tx_hash} reverted")
                receipts[tx_hash] = receipt
        time.sleep(0.05)
    return [receipts[h] for h in hashes]
