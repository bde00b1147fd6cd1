"""Checking a batch of incoming transactions on several threads, ahead of the pool.

Most of what admitting a transaction costs is its signature check: secp256k1
public-key recovery on ``ecdsa`` chains, SM2 verification on ``sm`` chains.
Both run in the Rust extension, which releases the GIL for the length of the
call (on ``ecdsa`` one call recovers a whole chunk's senders, hashing
included), so threads check the signatures of different chunks at the same time.

:class:`ParallelIntake` runs a stateless batch check (the pool's
:meth:`~baychain.node.pool.mempool.Mempool.decode_raws`: size, decoding, chain id,
signature) over chunks of a batch on worker threads and yields the outcomes
**in the batch's order**. The pool itself stays single-threaded: the caller
admits the decoded transactions one after the other, so the pool sees exactly
the calls it would see had they arrived one by one. Each transaction is still
decoded and its signature checked once; the pool does not check a decoded
transaction's signature again.

The gain is bounded by the Python work that holds the GIL (RLP decoding,
building the transaction, the pool's own checks) and by the cores actually
free (``bench/RESULTS.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from threading import Lock

from baychain.errors import InvalidTransaction
from baychain.ledger.transactions import Transaction

__all__ = ["CHUNK_TXS", "ParallelIntake"]

CHUNK_TXS = 128
"""Transactions per unit of work handed to a thread: large enough that handing
over costs little against ~40-350 us of checks per transaction, small enough that
the threads share a block-sized batch evenly."""

Check = Callable[[Sequence[bytes]], list[Transaction | InvalidTransaction]]
"""A stateless, thread-safe batch check: for each raw transaction, in order, the
decoded transaction or the :class:`~baychain.errors.InvalidTransaction` refusing it."""


class ParallelIntake:
    """Runs a transaction check over batches on ``threads`` worker threads.

    With ``threads`` at 1 it checks inline on the calling thread. The worker
    threads start on the first batch; :meth:`close` stops them. Several threads
    may call :meth:`check_all` at once.
    """

    def __init__(self, check: Check, threads: int, *, chunk_txs: int = CHUNK_TXS) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        if chunk_txs < 1:
            raise ValueError(f"chunk_txs must be at least 1, got {chunk_txs}")
        self._check = check
        self._threads = threads
        self._chunk_txs = chunk_txs
        self._executor: ThreadPoolExecutor | None = None
        self._starting = Lock()

    @property
    def threads(self) -> int:
        """How many threads check a batch."""
        return self._threads

    def check_all(self, raws: Sequence[bytes]) -> Iterator[Transaction | InvalidTransaction]:
        """Yield, in the order of ``raws``, each decoded transaction or the error refusing it.

        Any other exception (a bug, not bad input) propagates out of the iteration.
        """
        if self._threads == 1 or len(raws) <= self._chunk_txs:
            yield from self._check(raws)
            return
        with self._starting:  # several threads may check batches at once
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="tx-check")
            executor = self._executor
        size = self._chunk_txs
        chunks = [raws[start : start + size] for start in range(0, len(raws), size)]
        # map() hands back results in submission order while later chunks are checked
        for checked in executor.map(self._check, chunks):
            yield from checked

    def close(self) -> None:
        """Stop the worker threads (a later batch starts them again)."""
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None
