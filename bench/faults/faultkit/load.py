"""Steady load under faults: a fixed-rate sender and a commit observer, on two threads.

The sender offers one transfer every ``1 / rate_per_s`` seconds, taking the dev
accounts in turn; account ``a`` always sends to the ``a``-th live node (so its nonces
reach one pool in order). Every hash a node accepted is recorded with the time of
its first send. The observer polls a live node's height every ``POLL_S`` and notes,
for each new block, when each of its transactions was first seen committed.

Faults lose pooled transactions (a node killed before it gossiped one, a partition),
which leaves a nonce gap behind which the sender's later transactions wait forever.
Like a real wallet, the sender re-submits the very same signed bytes (same hash) of
an account's oldest uncommitted transactions after ``RESEND_AFTER_S``; a node that
already holds one answers "already known". Re-submissions are counted.

Figures (:meth:`Load.figures`):

- ``sent``: distinct transactions offered; ``accepted``: those a node accepted;
- ``committed``: accepted ones seen in a committed block; ``pending``: the rest;
- commit latency: first send -> first seen committed (includes the poll period);
- committed tx/s within a window: transactions first seen committed in it / its length.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from baychain.crypto import get_suite
from baychain.ledger.signing import UnsignedTransaction, sign_transaction
from baychain.sdk.client import Client, RpcCallError
from faultkit.localnet import LocalNetwork, RpcFailure

POLL_S = 0.2
"""How often the observer asks for the height."""
RESEND_AFTER_S = 6.0
"""An account's oldest accepted transaction not committed after this is re-submitted."""
TRANSFER_WEI = 10**12


@dataclass
class Tracked:
    """One transaction the sender offered."""

    tx_hash: bytes
    raw: bytes
    account: int
    nonce: int
    first_sent: float
    accepted: bool = False
    committed_at: float | None = None
    height: int | None = None
    last_resent: float = 0.0


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (``fraction`` in 0..1) or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, int(-(-fraction * len(ordered) // 1)))
    return ordered[min(rank, len(ordered)) - 1]


class Load:
    """The sender and the observer (see the module docstring)."""

    def __init__(
        self,
        net: LocalNetwork,
        *,
        rate_per_s: float,
        targets: Callable[[], Sequence[int]] | None = None,
        accounts: Sequence[bytes] | None = None,
    ) -> None:
        self.net = net
        self.rate_per_s = rate_per_s
        self.targets = targets or net.live
        self.suite = get_suite(net.crypto)
        self.keys = list(accounts if accounts is not None else net.dev_keys)
        if len(self.keys) < 2:
            raise ValueError("the load needs at least two dev accounts")
        self.addresses = [self.suite.address(self.suite.public_key(k)) for k in self.keys]
        self.tracked: dict[bytes, Tracked] = {}
        self.by_account: list[dict[int, Tracked]] = [{} for _ in self.keys]
        self.next_nonce: list[int] = [0] * len(self.keys)
        self.unacknowledged: list[Tracked | None] = [None] * len(self.keys)
        self.counts = {"send_errors": 0, "refused": 0, "resent": 0, "skipped_no_node": 0}
        self.lock = threading.Lock()
        self.observed_height = 0
        self._stop = threading.Event()
        self._stop_observer = threading.Event()
        self._threads: list[threading.Thread] = []

    # ----- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """Read each account's nonce and the head, then start both threads."""
        node = self.targets()[0]
        client = self.net.client(node)
        for a, address in enumerate(self.addresses):
            self.next_nonce[a] = client.nonce(address)
        self.observed_height = client.block_number()
        self._threads = [
            threading.Thread(target=self._send_loop, name="load-sender", daemon=True),
            threading.Thread(target=self._observe_loop, name="load-observer", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop_sending(self) -> None:
        """Stop offering new transactions (the observer and re-submission go on)."""
        self._stop.set()
        self._threads[0].join(timeout=30)

    def drain(self, timeout_s: float) -> float:
        """Re-submit and wait until every accepted transaction committed (or the timeout);
        return the seconds waited."""
        start = time.monotonic()
        while time.monotonic() - start < timeout_s:
            if not self.pending():
                break
            self._rescue(force=False)
            time.sleep(0.5)
        return time.monotonic() - start

    def settle(self, sent_before: float, timeout_s: float) -> bool:
        """Wait until every accepted transaction first sent before ``sent_before`` is
        committed; False after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while any(t.first_sent < sent_before for t in self.pending()):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True

    def stop(self) -> None:
        """Stop both threads."""
        self._stop.set()
        self._stop_observer.set()
        for thread in self._threads:
            thread.join(timeout=30)

    # ----- figures -------------------------------------------------------------------

    def pending(self) -> list[Tracked]:
        """Accepted transactions not yet seen committed."""
        with self.lock:
            return [t for t in self.tracked.values() if t.accepted and t.committed_at is None]

    def committed_hashes(self) -> list[bytes]:
        """Hashes of the accepted transactions seen committed."""
        with self.lock:
            return [t.tx_hash for t in self.tracked.values() if t.committed_at is not None]

    def figures(self, window: tuple[float, float] | None = None) -> dict[str, Any]:
        """Counts and commit latency; with ``window`` (monotonic start, end), only the
        transactions first sent in it, and the committed rate within it."""
        with self.lock:
            chosen = [
                t
                for t in self.tracked.values()
                if window is None or window[0] <= t.first_sent < window[1]
            ]
            committed_in_window = (
                sum(
                    1
                    for t in self.tracked.values()
                    if t.committed_at is not None and window[0] <= t.committed_at < window[1]
                )
                if window is not None
                else None
            )
        latencies = [t.committed_at - t.first_sent for t in chosen if t.committed_at is not None]
        figures: dict[str, Any] = {
            "sent": len(chosen),
            "accepted": sum(t.accepted for t in chosen),
            "committed": len(latencies),
            "pending": sum(t.accepted and t.committed_at is None for t in chosen),
            "latency_p50_s": _round(percentile(latencies, 0.50)),
            "latency_p99_s": _round(percentile(latencies, 0.99)),
            "latency_max_s": _round(max(latencies, default=None)),
            **self.counts,
        }
        if window is not None and committed_in_window is not None:
            figures["committed_per_s"] = round(committed_in_window / (window[1] - window[0]), 2)
        return figures

    # ----- the sender ----------------------------------------------------------------

    def _send_loop(self) -> None:
        interval = 1.0 / self.rate_per_s
        next_at = time.monotonic()
        account = 0
        last_rescue = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now < next_at:
                time.sleep(min(next_at - now, 0.05))
                continue
            next_at = max(next_at + interval, now - 1.0)  # never burst more than 1 s behind
            self._send_one(account)
            account = (account + 1) % len(self.keys)
            if now - last_rescue > 1.0:
                self._rescue(force=False)
                last_rescue = now

    def _target(self, account: int) -> int | None:
        live = list(self.targets())
        return live[account % len(live)] if live else None

    def _send_one(self, account: int) -> None:
        node = self._target(account)
        if node is None:
            self.counts["skipped_no_node"] += 1
            return
        tx = self.unacknowledged[account]
        if tx is None:
            tx = self._sign(account, self.next_nonce[account])
            with self.lock:
                self.tracked[tx.tx_hash] = tx
                self.by_account[account][tx.nonce] = tx
            self.unacknowledged[account] = tx
            self.next_nonce[account] += 1
        client = self.net.client(node)
        try:
            client.send_raw(tx.raw)
        except RpcCallError as error:
            message = str(error).lower()
            if "already known" in message:
                self._acknowledge(tx)
            elif "nonce too low" in message:
                # Our earlier, timed-out send of these bytes may have been accepted and
                # committed; otherwise the nonce is spent. Either way move on.
                self.counts["refused"] += 1
                self.unacknowledged[account] = None
                receipt = _quiet(lambda: client.receipt(tx.tx_hash))
                if receipt is not None:
                    self._acknowledge(tx)
                else:
                    self._forget(tx)
                    self.next_nonce[account] = max(
                        self.next_nonce[account],
                        _quiet(lambda: client.nonce(self.addresses[account])) or 0,
                    )
            else:
                # A gap (a lost predecessor), a full pool: send the predecessors again.
                self.counts["refused"] += 1
                self._resend_account(account, node, force=True)
        except RpcFailure:
            self.counts["send_errors"] += 1
        else:
            self._acknowledge(tx)

    def _acknowledge(self, tx: Tracked) -> None:
        with self.lock:
            tx.accepted = True
        if self.unacknowledged[tx.account] is tx:
            self.unacknowledged[tx.account] = None

    def _forget(self, tx: Tracked) -> None:
        with self.lock:
            self.tracked.pop(tx.tx_hash, None)
            self.by_account[tx.account].pop(tx.nonce, None)

    def _sign(self, account: int, nonce: int) -> Tracked:
        recipient = self.addresses[(account + 1) % len(self.keys)]
        unsigned = UnsignedTransaction(
            tx_type=self.suite.transaction_type,
            chain_id=self.net.chain_id,
            nonce=nonce,
            max_priority_fee_per_gas=0,
            max_fee_per_gas=0,
            gas_limit=21_000,
            to=recipient,
            value=TRANSFER_WEI,
            data=b"",
        )
        signed = sign_transaction(unsigned, self.keys[account], self.suite)
        return Tracked(bytes(signed.hash), signed.raw, account, nonce, time.monotonic())

    def _rescue(self, *, force: bool) -> None:
        for account in range(len(self.keys)):
            node = self._target(account)
            if node is not None:
                self._resend_account(account, node, force=force)

    def _resend_account(self, account: int, node: int, *, force: bool) -> None:
        """Re-submit ``account``'s uncommitted transactions, oldest nonce first, when the
        oldest has waited ``RESEND_AFTER_S`` (or ``force``)."""
        now = time.monotonic()
        with self.lock:
            waiting = sorted(
                (t for t in self.by_account[account].values() if t.committed_at is None),
                key=lambda t: t.nonce,
            )
        if not waiting:
            return
        oldest = waiting[0]
        if not force and (
            now - oldest.first_sent < RESEND_AFTER_S or now - oldest.last_resent < RESEND_AFTER_S
        ):
            return
        client = self.net.client(node)
        for tx in waiting[:64]:
            tx.last_resent = now
            try:
                client.send_raw(tx.raw)
            except RpcCallError:
                pass  # already known, nonce too low (committed meanwhile): fine
            except RpcFailure:
                self.counts["send_errors"] += 1
                return
            else:
                self.counts["resent"] += 1
                if not tx.accepted:
                    self._acknowledge(tx)

    # ----- the observer --------------------------------------------------------------

    def _observe_loop(self) -> None:
        while not self._stop_observer.is_set():
            time.sleep(POLL_S)
            for node in list(self.targets()):
                try:
                    self._observe(self.net.client(node))
                except RpcFailure:
                    continue
                break

    def _observe(self, client: Client) -> None:
        head = client.block_number()
        while self.observed_height < head:
            height = self.observed_height + 1
            block = client.call("eth_getBlockByNumber", hex(height), False)
            if block is None:
                return
            seen = time.monotonic()
            with self.lock:
                for entry in block.get("transactions", []):
                    tx_hash = bytes.fromhex(
                        (entry if isinstance(entry, str) else entry["hash"])[2:]
                    )
                    tx = self.tracked.get(tx_hash)
                    if tx is not None and tx.committed_at is None:
                        tx.committed_at = seen
                        tx.height = height
                        tx.accepted = True
            self.observed_height = height


def _quiet(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except (RpcCallError, *RpcFailure):
        return None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
