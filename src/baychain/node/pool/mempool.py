"""The transaction pool: signed transactions waiting for a block, and the rule that picks them.

Glossary
--------
- **account nonce**: the sender's next nonce in the committed state at the head
  (what :class:`AccountReader` returns).
- **pending**: a sender's pooled transactions whose nonces run without a gap from
  the account nonce; a block could include them now, in nonce order.
- **queued**: a sender's pooled transactions behind a gap; they wait for the
  missing nonce and are *promoted* to pending when it arrives (or when the
  account nonce reaches them).
- **cost** of a transaction: ``value + gas_limit * max_fee_per_gas``, the most it
  can take from the sender's balance (the EIP-1559 up-front balance check).
- **charge** of a pooled transaction: what it holds of its sender's balance while
  pooled. Its cost if it was admitted pending; if it was admitted queued, its cost with
  the gas priced at ``queued_min_gas_price_wei`` at least (1 wei by default), so that
  waiting in the pool is not free on a zero-fee chain. Fixed at admission.
- **age** of a queued transaction: committed blocks since it last became queued. The
  pool has no clock; :meth:`Mempool.remove_committed`, called once per committed block,
  is its clock.
- **squatter**: the sender with the most queued bytes (the oldest sender record among
  equals); its newest (highest-nonce) queued transaction is the first to be evicted.
- **ready ticket**: a number the pool draws from one counter, increasing by one,
  each time a transaction becomes pending. It is the transaction's place in line.

Admission (:meth:`Mempool.add_raw`, :meth:`Mempool.add`) checks, in this order:
size, decoding with signature and chain id, intrinsic gas, block gas limit, fee
cap against the base fee, duplicate hash, nonce too low, nonce gap, funds (the
charge plus the sender's other charges), replacement fee bump, the sender's bounds
(all its transactions; its queued ones by count and bytes, for a queued newcomer),
pool bounds. The validity rules among them are the checks of
:mod:`baychain.ledger.validity`; each failure raises its own
:class:`~baychain.errors.BayChainError` subclass and leaves the pool's contents
as they were, except that the sender's transactions the committed state has
made stale (nonce used) or unaffordable (balance fallen) are forgotten first.

Executable work comes first. When the pool's count or bytes bound would be
exceeded, a **pending** newcomer (or a pending transaction's replacement) evicts
queued transactions, the squatter's newest first, one at a time, until it fits;
if evicting every queued transaction would not make room, it is refused and
nothing is evicted. A queued newcomer never evicts anything. Each committed block
ages the queue: a transaction queued for ``queued_lifetime_blocks`` blocks without
becoming pending is dropped (see :class:`~baychain.node.pool.config.MempoolConfig`
for the bounds and their defaults).

What a consortium operator can expect on a zero-fee chain (gas price 0): a sender
with no balance (a fresh account) can still send transactions a block can include
now, at price 0, in nonce order; funded senders (dev accounts) transact as before and
may also send ahead of a gap. A sender with no funds cannot queue: a transaction
behind its gap is refused with :class:`~baychain.errors.InsufficientFunds` (its gas
limit at 1 wei per gas), because keys are free and queued transactions hold room
no block can use. Queued room is also bounded per sender
(:class:`~baychain.errors.SenderQueueFull`) and gives way to pending work, so even
funded squatters cannot keep honest transactions out. Promotions are announced to
:attr:`Mempool.promotion_listeners` (gossip sends a transaction only once it is
pending).

The ordering rule
-----------------
:meth:`Mempool.select_for_block` offers pending transactions **in the order they
became pending** (ascending ready ticket): first come, first served, measured from
the moment a transaction became executable rather than from its arrival. A
transaction becomes pending when it arrives with its sender's next pending nonce,
when the transaction filling the gap before it arrives (the promoted run takes
consecutive tickets in nonce order), or when a committed block moves the account
nonce up to it (senders are handled in the order they first appear in the
block). A replacement keeps the ticket of the transaction it replaces. Since a
transaction can only become pending after its predecessor, each sender's
transactions come out in nonce order, and senders interleave by the tickets of
their transactions. Greedy packing walks that order; when a transaction's gas
limit no longer fits in the gas left, its sender is skipped for the rest of the
block (its later nonces cannot go before it) and the walk goes on with the
others. The result depends only on the sequence of calls made on the pool:
there is no clock, no randomness and no iteration over hash-ordered sets.

Invariants kept after every call:

- for every sender, the total charge of its pooled transactions is at most the
  balance the pool last saw, and a charge is at least the cost, so any prefix of its
  pending run is affordable;
- a transaction is in the ready line iff it is pending, and in the queue index iff
  it is queued; the queue index is ordered by age, oldest first;
- the pool's byte count is the sum of the raw encodings it holds, and its queued
  byte count (overall and per sender) that of the queued ones;
- no queued transaction is ``queued_lifetime_blocks`` blocks old or older right after
  :meth:`Mempool.remove_committed`.

Simplifications, honestly listed: the pool does not evict cheaper transactions
to make room (only queued ones, and only for pending ones; a pool full of pending
work rejects), does not order by fee (consortium chains often price gas at zero),
and treats the base fee and block gas limit as fixed for its lifetime. A charge is
fixed at admission: a transaction admitted queued keeps its higher charge once
promoted, and one demoted back to queued (an earlier nonce dropped) keeps its cost
as charge. Age counts committed blocks, not time: on a chain that makes no empty
blocks an idle pool does not age (it still gives way to pending work). A pending
newcomer's eviction is deterministic but may push out an honest sender's queued
transaction if that sender is the squatter. Pending transactions from fresh
zero-balance keys at price 0 can still fill the pool until blocks include them; that
is the cost of free gas, bounded by the block gas limit's throughput, and the chain
(not the pool) decides who may send at all.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from baychain.crypto.suite import CryptoSuite
from baychain.errors import (
    AlreadyKnown,
    InvalidTransaction,
    PoolBytesFull,
    PoolFull,
    ReplacementUnderpriced,
    SenderPoolFull,
    SenderQueueFull,
    TransactionTooLarge,
)
from baychain.ledger.intrinsic_gas import TX_BASE_COST
from baychain.ledger.transactions import Transaction, decode_transaction, decode_transactions
from baychain.ledger.validity import (
    check_block_gas_limit,
    check_chain_id,
    check_fee_cap,
    check_funds,
    check_intrinsic_gas,
    check_nonce_gap,
    check_nonce_unused,
    check_size,
    transaction_cost,
)
from baychain.node.pool.config import MempoolConfig
from baychain.primitives import Address, Hash32

__all__ = [
    "MIN_TX_GAS",
    "AccountReader",
    "Mempool",
    "MempoolConfig",
    "is_fee_bump",
    "transaction_cost",
]

MIN_TX_GAS = TX_BASE_COST
"""The smallest gas limit an admitted transaction can have (21000, Yellow Paper
``G_transaction``: every intrinsic gas includes it). Packing stops once less is left."""


class AccountReader(Protocol):
    """Read access to the committed state at the head, as the pool needs it."""

    def nonce(self, address: Address) -> int:
        """The account's next nonce (0 for an unknown account)."""
        ...

    def balance(self, address: Address) -> int:
        """The account's balance in wei (0 for an unknown account)."""
        ...


def is_fee_bump(old: Transaction, new: Transaction, bump_percent: int) -> bool:
    """True iff ``new`` may replace ``old``: both its fee cap and its priority fee are
    strictly higher and at least ``bump_percent`` percent higher (go-ethereum's rule)."""
    factor = 100 + bump_percent
    return (
        new.max_fee_per_gas > old.max_fee_per_gas
        and new.max_fee_per_gas * 100 >= old.max_fee_per_gas * factor
        and new.max_priority_fee_per_gas > old.max_priority_fee_per_gas
        and new.max_priority_fee_per_gas * 100 >= old.max_priority_fee_per_gas * factor
    )


@dataclass(slots=True)
class _Entry:
    """One pooled transaction with what the pool derived from it."""

    tx: Transaction
    cost: int
    size: int
    ticket: int | None = None
    """Place in the ready line while pending; None while queued."""
    queued_since: int = 0
    """The pool's block count when the transaction last became queued."""


@dataclass(slots=True)
class _Sender:
    """One sender's pooled transactions by nonce; pending are the nonces in [base, end)."""

    address: Address
    order: int
    """When the record was made, counting records: breaks ties between equal squatters."""
    base: int
    """The account nonce as the pool last saw it; no pooled nonce is below it."""
    end: int
    """The first nonce at or after ``base`` that is not pooled."""
    txs: dict[int, _Entry]
    cost: int = 0
    """Sum of the charges (``_Entry.cost``) of ``txs``."""
    queued_bytes: int = 0
    """Sum of the sizes of the queued ones among ``txs``."""

    @property
    def queued_count(self) -> int:
        """How many of ``txs`` are queued (the pending ones are exactly [base, end))."""
        return len(self.txs) - (self.end - self.base)


class Mempool:
    """A bounded, deterministic pool of transactions for one chain.

    Pure logic: it never reads the clock, the network or the store on its own;
    the committed state comes in through an :class:`AccountReader` on each call
    that needs it. Not thread-safe; the node drives it from one task.
    """

    def __init__(
        self,
        config: MempoolConfig,
        chain_id: int,
        suite: CryptoSuite,
        block_gas_limit: int,
        base_fee: int,
    ) -> None:
        self._config = config
        self._chain_id = chain_id
        self._suite = suite
        self._block_gas_limit = block_gas_limit
        self._base_fee = base_fee
        self._by_hash: dict[Hash32, _Entry] = {}
        self._senders: dict[Address, _Sender] = {}
        # Tickets only grow, so this dict's insertion order is ticket order; a
        # replacement overwrites a value in place and keeps its position.
        self._ready: dict[int, _Entry] = {}
        self._next_ticket = 0
        self._bytes = 0
        # Queued entries by (sender, nonce), in the order they became queued, so oldest first.
        self._queued: dict[tuple[Address, int], _Entry] = {}
        self._queued_bytes = 0
        # Senders by queued bytes, most first (lazy: entries are checked when read).
        self._squatters: list[tuple[int, int, Address]] = []
        self._blocks = 0
        self._next_order = 0
        self._promoted: list[Transaction] = []
        self.promotion_listeners: list[Callable[[Transaction], None]] = []
        """Called with each queued transaction that becomes pending, once the pool call
        that promoted it is done (gossip relays a transaction only once it is pending)."""

    # -- admission ----------------------------------------------------------

    def add_raw(self, raw: bytes, accounts: AccountReader) -> Transaction:
        """Decode ``raw`` and admit it; return the decoded transaction.

        Raise :class:`~baychain.errors.TransactionTooLarge` before decoding, then
        whatever ``decode_transaction`` raises (MalformedTransaction, a DecodingError;
        InvalidTransactionSignature, an InvalidSignature; WrongChainId;
        UnsupportedTransactionType; NonceLimitExceeded and PriorityFeeAboveMaxFee for the
        EIP-2681 and EIP-1559 range rules), then the errors of :meth:`add`.
        """
        return self._admit(self.decode_raw(raw), accounts)

    def decode_raw(self, raw: bytes) -> Transaction:
        """The stateless first half of :meth:`add_raw`: size, decoding and signature checks.

        Raises what :meth:`add_raw` raises before it looks at the pool or the state;
        ``add_raw(raw, accounts)`` is ``add(decode_raw(raw), accounts)``. It reads no
        pool state, so several threads may call it at once (the node checks the
        signatures of a batch in parallel this way).
        """
        # the size bound comes first so that oversized input costs no decoding
        check_size(len(raw), self._config.max_tx_bytes)
        return decode_transaction(raw, self._suite, self._chain_id)

    def decode_raws(self, raws: Sequence[bytes]) -> list[Transaction | InvalidTransaction]:
        """:meth:`decode_raw` over a batch: for each raw transaction, in order, the decoded
        transaction or the :class:`~baychain.errors.InvalidTransaction` refusing it.

        Thread-safe like :meth:`decode_raw`. On an ``ecdsa`` chain one call recovers the
        whole batch's senders with the GIL released (``decode_transactions``).
        """
        refusals = [self._size_refusal(raw) for raw in raws]
        decoded = iter(
            decode_transactions(
                [raw for raw, refusal in zip(raws, refusals, strict=True) if refusal is None],
                self._suite,
                self._chain_id,
            )
        )
        return [next(decoded) if refusal is None else refusal for refusal in refusals]

    def _size_refusal(self, raw: bytes) -> TransactionTooLarge | None:
        """The size bound's refusal of ``raw`` (see :func:`check_size`), or None."""
        try:
            check_size(len(raw), self._config.max_tx_bytes)
        except TransactionTooLarge as refusal:
            return refusal
        return None

    def add(self, tx: Transaction, accounts: AccountReader) -> Transaction:
        """Admit an already decoded transaction (for example one a peer relayed); return it.

        Checks size and chain id again (cheap), then the same rules as :meth:`add_raw`.
        """
        # the encoding is within the size bound
        check_size(len(tx.raw), self._config.max_tx_bytes)
        # the transaction is signed for this chain
        check_chain_id(self._chain_id, tx.chain_id)
        return self._admit(tx, accounts)

    def _admit(self, tx: Transaction, accounts: AccountReader) -> Transaction:
        """Run the stateful checks in their documented order and insert ``tx``; then tell
        the promotion listeners what became pending meanwhile."""
        try:
            return self._admit_checked(tx, accounts)
        finally:
            self._announce_promoted()

    def _admit_checked(self, tx: Transaction, accounts: AccountReader) -> Transaction:
        """The checks and the insertion of :meth:`_admit`."""
        config = self._config
        # the gas limit pays for the transaction's intrinsic cost
        check_intrinsic_gas(tx)
        # the transaction fits in a block at all
        check_block_gas_limit(tx.gas_limit, self._block_gas_limit)
        # the fee cap covers the base fee (EIP-1559)
        check_fee_cap(tx.max_fee_per_gas, self._base_fee)
        # the pool does not hold it already
        if tx.hash in self._by_hash:
            raise AlreadyKnown(tx.hash)
        account_nonce = accounts.nonce(tx.sender)
        balance = accounts.balance(tx.sender)
        sender = self._senders.get(tx.sender)
        if sender is not None:
            # first forget what the committed state has made stale or unaffordable
            self._rebase(sender, account_nonce)
            self._enforce_balance(sender, balance)
            if self._forget_if_empty(tx.sender, sender):
                sender = None
        # the nonce is not used up
        check_nonce_unused(account_nonce, tx.nonce)
        old = sender.txs.get(tx.nonce) if sender is not None else None
        expected = sender.end if sender is not None else account_nonce
        # a new nonce is at most max_nonce_gap past the sender's next pending nonce
        if old is None:
            check_nonce_gap(expected, tx.nonce, config.max_nonce_gap)
        # pending: a block could include it now (the next nonce, or in place of a pending one)
        pending = tx.nonce == expected if old is None else old.ticket is not None
        # the balance covers this transaction plus everything else the sender has pooled;
        # a queued one pays for its gas at queued_min_gas_price_wei at least
        cost = transaction_cost(tx) if pending else self._queued_charge(tx)
        pooled = 0 if sender is None else sender.cost - (0 if old is None else old.cost)
        check_funds(pooled + cost, balance)
        entry = _Entry(tx=tx, cost=cost, size=len(tx.raw))
        if sender is not None and old is not None:
            # a replacement pays enough more than the transaction it evicts
            if not is_fee_bump(old.tx, tx, config.price_bump_percent):
                raise ReplacementUnderpriced(old.tx.hash)
            # the sender's queued bounds and the pool's bounds hold after the swap
            if not pending:
                self._check_sender_queue(sender, 0, entry.size - old.size)
            self._make_room(0, entry.size - old.size, pending, tx.sender)
            self._replace(sender, old, entry)
            return tx
        # the sender's bounds, then the pool's count and bytes bounds hold after the insertion
        if sender is not None and len(sender.txs) >= config.max_per_sender:
            raise SenderPoolFull(tx.sender, config.max_per_sender)
        if not pending:
            self._check_sender_queue(sender, 1, entry.size)
        self._make_room(1, entry.size, pending, tx.sender)
        if sender is None:
            sender = _Sender(tx.sender, self._next_order, account_nonce, account_nonce, {})
            self._next_order += 1
            self._senders[tx.sender] = sender
        self._insert(sender, entry)
        return tx

    def _queued_charge(self, tx: Transaction) -> int:
        """What a queued ``tx`` holds of its sender's balance: its cost with the gas priced
        at ``queued_min_gas_price_wei`` at least (so not nothing on a zero-fee chain)."""
        gas_price = max(tx.max_fee_per_gas, self._config.queued_min_gas_price_wei)
        return tx.value + tx.gas_limit * gas_price

    def _check_sender_queue(self, sender: _Sender | None, count: int, size: int) -> None:
        """Raise :class:`SenderQueueFull` unless the sender's queued transactions stay within
        their count and bytes bounds with ``count`` more of ``size`` more bytes."""
        if sender is None:
            queued, queued_bytes = 0, 0
        else:
            queued, queued_bytes = sender.queued_count, sender.queued_bytes
        config = self._config
        address = b"" if sender is None else sender.address
        if queued + count > config.max_queued_per_sender:
            raise SenderQueueFull(address, config.max_queued_per_sender, "transactions")
        if queued_bytes + size > config.max_queued_bytes_per_sender:
            raise SenderQueueFull(address, config.max_queued_bytes_per_sender, "bytes")

    def _make_room(self, count: int, size: int, pending: bool, keep: Address) -> None:
        """Make the pool's count and bytes bounds hold with ``count`` more transactions of
        ``size`` more bytes, or raise :class:`PoolFull` / :class:`PoolBytesFull` changing
        nothing. Only a pending newcomer makes room, by evicting queued transactions: the
        newest of the sender with the most queued bytes, one at a time. ``keep`` (the
        newcomer's sender) keeps its record even if its last queued one goes."""
        config = self._config
        excess_txs = len(self._by_hash) + count - config.max_pool_txs
        excess_bytes = self._bytes + size - config.max_pool_bytes
        if excess_txs <= 0 and excess_bytes <= 0:
            return
        evictable = pending and excess_txs <= len(self._queued)
        if not evictable or excess_bytes > self._queued_bytes:
            if excess_txs > 0:
                raise PoolFull(config.max_pool_txs)
            raise PoolBytesFull(config.max_pool_bytes)
        while excess_txs > 0 or excess_bytes > 0:
            sender = self._top_squatter()
            victim = sender.txs[max(sender.txs)]  # queued nonces follow all pending ones
            excess_txs -= 1
            excess_bytes -= victim.size
            self._discard(sender, victim)
            if sender.address != keep:
                self._forget_if_empty(sender.address, sender)

    # -- block production ---------------------------------------------------

    def select_for_block(self, gas_limit: int, max_txs: int | None = None) -> list[Transaction]:
        """Pick pending transactions for a block of ``gas_limit`` gas, at most ``max_txs``.

        Walks the ready line (see the module docstring for the rule) and takes
        each transaction whose gas limit still fits; the first one that does
        not fit excludes its sender for the rest of the block. Does not change
        the pool: the node removes what it committed with :meth:`remove_committed`.
        Cost: linear in the number of pending transactions visited.
        """
        chosen: list[Transaction] = []
        if max_txs is not None and max_txs <= 0:
            return chosen
        remaining = gas_limit
        skipped: set[Address] = set()  # used for membership only, never iterated
        for entry in self._ready.values():
            if remaining < MIN_TX_GAS:
                break
            tx = entry.tx
            if tx.sender in skipped:
                continue
            if tx.gas_limit > remaining:
                skipped.add(tx.sender)
                continue
            chosen.append(tx)
            remaining -= tx.gas_limit
            if len(chosen) == max_txs:
                break
        return chosen

    def remove_committed(self, txs: Iterable[Transaction], accounts: AccountReader) -> None:
        """Forget what a committed block made stale; ``accounts`` is the state after it.

        For each sender of ``txs`` (in order of first appearance): drop pooled
        transactions below the new account nonce, promote queued ones the new
        nonce reaches, and, if the new balance no longer covers everything the
        sender has pooled, drop from the first unaffordable nonce onwards. Any of
        ``txs`` still pooled afterwards (a reader lagging behind the block) is
        dropped too, and its sender's later nonces go back to queued. Last, queued
        transactions that have waited ``queued_lifetime_blocks`` blocks (this call
        included) without becoming pending are dropped: the node calls this once per
        committed block, so it is the pool's clock.
        """
        self._blocks += 1
        try:
            self._remove_committed(list(txs), accounts)
            self._expire_queued()
        finally:
            self._announce_promoted()

    def _remove_committed(self, committed: list[Transaction], accounts: AccountReader) -> None:
        """The per-sender work of :meth:`remove_committed`."""
        senders: dict[Address, None] = {}  # insertion-ordered set
        for tx in committed:
            senders.setdefault(tx.sender, None)
        for address in senders:
            sender = self._senders.get(address)
            if sender is None:
                continue
            self._rebase(sender, accounts.nonce(address))
            self._enforce_balance(sender, accounts.balance(address))
            self._forget_if_empty(address, sender)
        for tx in committed:
            entry = self._by_hash.get(tx.hash)
            if entry is not None:
                sender = self._senders[tx.sender]
                self._evict(sender, entry)
                self._forget_if_empty(tx.sender, sender)

    def _expire_queued(self) -> None:
        """Drop the queued transactions that became queued ``queued_lifetime_blocks`` or
        more blocks ago (oldest first; cost: linear in the number dropped)."""
        horizon = self._blocks - self._config.queued_lifetime_blocks
        while self._queued:
            entry = next(iter(self._queued.values()))
            if entry.queued_since > horizon:
                return
            sender = self._senders[entry.tx.sender]
            self._discard(sender, entry)  # a queued nonce follows the pending run: no demotion
            self._forget_if_empty(sender.address, sender)

    # -- queries ------------------------------------------------------------

    @property
    def pending_count(self) -> int:
        """Number of pending transactions."""
        return len(self._ready)

    @property
    def queued_count(self) -> int:
        """Number of queued transactions."""
        return len(self._by_hash) - len(self._ready)

    @property
    def byte_size(self) -> int:
        """Total bytes of the raw encodings the pool holds."""
        return self._bytes

    def __len__(self) -> int:
        """Number of pooled transactions, pending and queued."""
        return len(self._by_hash)

    def __contains__(self, tx_hash: object) -> bool:
        """True iff a transaction with this hash is pooled."""
        return tx_hash in self._by_hash

    def is_pending(self, tx_hash: Hash32) -> bool:
        """True iff a transaction with this hash is pooled and pending."""
        entry = self._by_hash.get(tx_hash)
        return entry is not None and entry.ticket is not None

    def get(self, tx_hash: Hash32) -> Transaction | None:
        """The pooled transaction with this hash, or None."""
        entry = self._by_hash.get(tx_hash)
        return None if entry is None else entry.tx

    def pending_nonce(self, address: Address, accounts: AccountReader) -> int:
        """The sender's next nonce counting its pending transactions (JSON-RPC ``"pending"``)."""
        nonce = accounts.nonce(address)
        sender = self._senders.get(address)
        if sender is None:
            return nonce
        if sender.base == nonce:
            return sender.end
        # the reader is newer or older than the pool's view: count the run afresh
        while nonce in sender.txs:
            nonce += 1
        return nonce

    def pending_transactions(self) -> Iterator[Transaction]:
        """The pending transactions in the order :meth:`select_for_block` considers them.

        Iterates over a snapshot, so the pool may change meanwhile.
        """
        return iter([entry.tx for entry in self._ready.values()])

    # -- internal bookkeeping ----------------------------------------------

    def _take_ticket(self, entry: _Entry) -> None:
        """Put ``entry`` at the end of the ready line."""
        entry.ticket = self._next_ticket
        self._ready[self._next_ticket] = entry
        self._next_ticket += 1

    def _extend_run(self, sender: _Sender) -> None:
        """Promote the queued transactions that now continue the sender's pending run."""
        txs = sender.txs
        while sender.end in txs:
            entry = txs[sender.end]
            self._unmark_queued(sender, entry)
            self._take_ticket(entry)
            self._promoted.append(entry.tx)
            sender.end += 1

    def _announce_promoted(self) -> None:
        """Tell the promotion listeners what became pending during the call just made."""
        if not self._promoted:
            return
        promoted, self._promoted = self._promoted, []
        for tx in promoted:
            for listener in self.promotion_listeners:
                listener(tx)

    def _mark_queued(self, sender: _Sender, entry: _Entry) -> None:
        """Count ``entry`` (not in the ready line) as queued from now on."""
        entry.queued_since = self._blocks
        self._queued[sender.address, entry.tx.nonce] = entry
        self._queued_bytes += entry.size
        sender.queued_bytes += entry.size
        self._note_squatter(sender)

    def _unmark_queued(self, sender: _Sender, entry: _Entry) -> None:
        """Stop counting ``entry`` as queued (it is promoted or leaves the pool)."""
        del self._queued[sender.address, entry.tx.nonce]
        self._queued_bytes -= entry.size
        sender.queued_bytes -= entry.size
        self._note_squatter(sender)

    def _note_squatter(self, sender: _Sender) -> None:
        """Record the sender's new queued bytes in the squatter heap (old records go stale)."""
        if sender.queued_bytes > 0:
            heapq.heappush(self._squatters, (-sender.queued_bytes, sender.order, sender.address))
        if len(self._squatters) > 2 * len(self._senders) + 1_024:
            self._squatters = [
                (-s.queued_bytes, s.order, s.address)
                for s in self._senders.values()
                if s.queued_bytes > 0
            ]
            heapq.heapify(self._squatters)

    def _top_squatter(self) -> _Sender:
        """The sender with the most queued bytes, the oldest record among equals (there
        must be one: the caller checked that something is queued)."""
        squatters = self._squatters
        while True:
            queued_bytes, order, address = squatters[0]
            sender = self._senders.get(address)
            fresh = sender is not None and (sender.order, sender.queued_bytes) == (
                order,
                -queued_bytes,
            )
            if sender is not None and fresh:
                return sender
            heapq.heappop(squatters)  # stale: the sender's queued bytes changed since

    def _insert(self, sender: _Sender, entry: _Entry) -> None:
        """Add a transaction with a nonce the sender has not pooled."""
        tx = entry.tx
        sender.txs[tx.nonce] = entry
        sender.cost += entry.cost
        self._by_hash[tx.hash] = entry
        self._bytes += entry.size
        if tx.nonce != sender.end:
            self._mark_queued(sender, entry)
            return
        self._take_ticket(entry)
        sender.end += 1
        self._extend_run(sender)

    def _replace(self, sender: _Sender, old: _Entry, new: _Entry) -> None:
        """Swap ``new`` in for ``old`` (same nonce); ``new`` keeps ``old``'s place in line,
        or, queued, its place in the queue and its age."""
        del self._by_hash[old.tx.hash]
        self._by_hash[new.tx.hash] = new
        sender.txs[new.tx.nonce] = new
        sender.cost += new.cost - old.cost
        self._bytes += new.size - old.size
        if old.ticket is not None:
            new.ticket = old.ticket
            self._ready[old.ticket] = new
            return
        new.queued_since = old.queued_since
        self._queued[sender.address, new.tx.nonce] = new  # same key: same place
        self._queued_bytes += new.size - old.size
        sender.queued_bytes += new.size - old.size
        self._note_squatter(sender)

    def _discard(self, sender: _Sender, entry: _Entry) -> None:
        """Remove ``entry`` from every index; the caller repairs the pending run."""
        del self._by_hash[entry.tx.hash]
        del sender.txs[entry.tx.nonce]
        sender.cost -= entry.cost
        self._bytes -= entry.size
        if entry.ticket is not None:
            del self._ready[entry.ticket]
            entry.ticket = None
        else:
            self._unmark_queued(sender, entry)

    def _demote_from(self, sender: _Sender, nonce: int) -> None:
        """End the pending run at ``nonce``: pooled nonces from there on become queued."""
        for later in range(nonce, sender.end):
            entry = sender.txs.get(later)
            if entry is not None and entry.ticket is not None:
                del self._ready[entry.ticket]
                entry.ticket = None
                self._mark_queued(sender, entry)
        sender.end = max(nonce, sender.base)

    def _evict(self, sender: _Sender, entry: _Entry) -> None:
        """Remove one transaction; the sender's later pending nonces go back to queued."""
        nonce = entry.tx.nonce
        self._discard(sender, entry)
        if nonce < sender.end:
            self._demote_from(sender, nonce)

    def _rebase(self, sender: _Sender, account_nonce: int) -> None:
        """Bring the sender's view up to the committed ``account_nonce``."""
        if account_nonce == sender.base:
            return
        if account_nonce < sender.base:
            # only if the reader is older than what the pool saw before: rebuild the run
            self._demote_from(sender, sender.base)
            sender.base = sender.end = account_nonce
            self._extend_run(sender)
            return
        txs = sender.txs
        if account_nonce - sender.base <= len(txs):
            stale = [n for n in range(sender.base, account_nonce) if n in txs]
        else:
            stale = sorted(n for n in txs if n < account_nonce)
        for nonce in stale:
            self._discard(sender, txs[nonce])
        sender.base = account_nonce
        if sender.end < account_nonce:
            sender.end = account_nonce
        self._extend_run(sender)

    def _enforce_balance(self, sender: _Sender, balance: int) -> None:
        """Drop the sender's transactions from the first one its ``balance`` cannot cover."""
        if sender.cost <= balance:
            return
        nonces = sorted(sender.txs)
        total = 0
        for index, nonce in enumerate(nonces):
            total += sender.txs[nonce].cost
            if total > balance:
                for dropped in nonces[index:]:
                    self._discard(sender, sender.txs[dropped])
                sender.end = min(sender.end, nonce)
                return

    def _forget_if_empty(self, address: Address, sender: _Sender) -> bool:
        """Drop the per-sender record if it holds nothing; return True if it did."""
        if sender.txs:
            return False
        del self._senders[address]
        return True
