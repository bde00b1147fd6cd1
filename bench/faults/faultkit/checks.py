"""The end checks of every campaign, and writing its summary.

- **lost**: an accepted transaction seen committed that some node cannot give a
  receipt for, or gives one from another block than the others do.
- **forks**: heights at which two nodes hold different block hashes
  (``eth_getBlockByNumber`` on every node, every height up to the lowest head).

Both read through JSON-RPC batches (:data:`BATCH`) so a campaign of thousands of
transactions checks in seconds.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from faultkit.localnet import FaultCampaignError, LocalNetwork, RpcFailure

BATCH = 200
"""Requests per JSON-RPC batch (a node accepts up to 1,000)."""


def batch_call(
    url: str, calls: Sequence[tuple[str, list[Any]]], timeout_s: float = 60.0
) -> list[Any]:
    """Call every ``(method, params)`` in one batch; return the results in order
    (None for a call that failed)."""
    body = json.dumps(
        [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
    ).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        answers = json.loads(response.read())
    results: list[Any] = [None] * len(calls)
    for answer in answers:
        if isinstance(answer, dict) and "result" in answer and isinstance(answer.get("id"), int):
            results[answer["id"]] = answer["result"]
    return results


def wait_converged(net: LocalNetwork, indexes: Sequence[int], timeout_s: float = 180.0) -> int:
    """Wait until every node of ``indexes`` reached the highest height any of them had
    when called; return that height."""
    target = net.top(indexes)
    for index in indexes:
        net.wait_for_height(index, target, timeout_s)
    return target


def find_lost(net: LocalNetwork, hashes: Sequence[bytes], indexes: Sequence[int]) -> list[str]:
    """The hashes (0x...) some node of ``indexes`` has no receipt for, or a receipt in
    a different block than the first node's."""
    lost: set[str] = set()
    for start in range(0, len(hashes), BATCH):
        chunk = ["0x" + h.hex() for h in hashes[start : start + BATCH]]
        calls = [("eth_getTransactionReceipt", [h]) for h in chunk]
        blocks: list[dict[str, str]] = []
        for index in indexes:
            receipts = batch_call(net.nodes[index].rpc_url, calls)
            blocks.append(
                {h: r["blockHash"] for h, r in zip(chunk, receipts, strict=True) if r is not None}
            )
        for tx_hash in chunk:
            found = [b.get(tx_hash) for b in blocks]
            if None in found or len(set(found)) != 1:
                lost.add(tx_hash)
    return sorted(lost)


def find_forks(net: LocalNetwork, indexes: Sequence[int]) -> list[dict[str, Any]]:
    """Every height up to the lowest head of ``indexes`` where the nodes' hashes differ."""
    top = min(h or 0 for h in net.heights(indexes).values())
    forks: list[dict[str, Any]] = []
    for start in range(1, top + 1, BATCH):
        heights = list(range(start, min(start + BATCH, top + 1)))
        calls = [("eth_getBlockByNumber", [hex(h), False]) for h in heights]
        per_node = [batch_call(net.nodes[i].rpc_url, calls) for i in indexes]
        for offset, height in enumerate(heights):
            hashes = {
                f"node{i}": (blocks[offset] or {}).get("hash")
                for i, blocks in zip(indexes, per_node, strict=True)
            }
            if len(set(hashes.values())) != 1:
                forks.append({"height": height, "hashes": hashes})
    return forks


def end_checks(
    net: LocalNetwork, committed: Sequence[bytes], indexes: Sequence[int] | None = None
) -> dict[str, Any]:
    """Converge, then count lost transactions and forked heights across ``indexes``."""
    chosen = list(range(len(net.nodes))) if indexes is None else list(indexes)
    height = wait_converged(net, chosen)
    lost = find_lost(net, committed, chosen)
    forks = find_forks(net, chosen)
    return {
        "checked_nodes": [f"node{i}" for i in chosen],
        "checked_height": height,
        "checked_transactions": len(committed),
        "lost": len(lost),
        "lost_hashes": lost[:20],
        "forks": len(forks),
        "fork_heights": forks[:20],
    }


def end_checks_or_error(
    net: LocalNetwork,
    committed: Sequence[bytes],
    errors: list[str],
    indexes: Sequence[int] | None = None,
) -> dict[str, Any]:
    """:func:`end_checks`, or (when the nodes never converge) the error added to
    ``errors`` and None for every figure."""
    try:
        return end_checks(net, committed, indexes)
    except (FaultCampaignError, *RpcFailure) as error:
        errors.append(f"end checks: {error}")
        return {"lost": None, "forks": None, "lost_hashes": [], "fork_heights": []}


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    """Write the campaign's JSON summary (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n")
