"""The one exception tree of BayChain.

Every error a caller may want to handle derives from :class:`BayChainError`.
Each subclass carries the values a caller needs to explain or act on it, and
the message says what is wrong in words a user understands. Errors are mapped
to JSON-RPC / HTTP codes at exactly one boundary (``rpc/``), never here.

::

    BayChainError
     ├── DecodingError                 bytes that do not parse (RLP, envelopes, frames)
     │    └── FrameError               a peer's byte stream that is not a sequence of frames
     │         └── FrameTooLarge(size, limit)  a frame longer than the cap
     ├── CryptoError
     │    ├── InvalidSignature         a signature that does not verify / recover
     │    ├── InvalidKey               a private or public key outside the curve's rules
     │    └── DecryptionFailed         a ciphertext that does not authenticate under the key
     │         └── WrongPassword       a keystore that the given password does not open
     ├── InvalidTransaction            a transaction no block may contain
     │    ├── MalformedTransaction     bytes that are not a transaction (also a DecodingError)
     │    ├── InvalidTransactionSignature  bad signature/signer key (also an InvalidSignature)
     │    ├── UnsupportedTransactionType
     │    ├── WrongChainId(expected, got)
     │    ├── TransactionTooLarge(size, limit)
     │    ├── IntrinsicGasTooLow(required, got)
     │    ├── NonceLimitExceeded(nonce)          EIP-2681: nonce at or above 2**64-1
     │    ├── PriorityFeeAboveMaxFee(tip, fee_cap)  EIP-1559: the tip is part of the fee cap
     │    ├── GasLimitPriceOverflow(gas_limit, fee_cap)  gas limit x fee cap over 256 bits
     │    └── InitCodeTooLarge(size, limit)      EIP-3860: a creation's init code over the cap
     ├── TransactionRejected           a valid transaction the pool will not take now
     │    ├── NonceTooLow(expected, got)
     │    ├── NonceTooHigh(expected, got, max_gap)
     │    ├── InsufficientFunds(required, balance)
     │    ├── GasLimitExceeded(gas_limit, block_gas_limit)
     │    │    └── BlockGasExhausted(gas_limit, gas_left, block_gas_limit)  above the gas left
     │    ├── SenderNotEoa(sender)     EIP-3607: the sender has deployed code
     │    ├── FeeTooLow(required, got)
     │    ├── AlreadyKnown(tx_hash)
     │    ├── ReplacementUnderpriced(tx_hash)
     │    └── PoolFull(limit)
     │         ├── PoolBytesFull(limit)         the pool's byte bound
     │         ├── SenderPoolFull(sender, limit) one sender's transaction bound
     │         └── SenderQueueFull(sender, limit, unit)  one sender's queued (gapped) bound
     ├── InvalidBlock                  a block that breaks a validity rule
     │    └── InvalidCommitCertificate(height, round)  no valid > 2/3 commit signatures
     ├── DoubleSignRefused(height, round, step)  a vote/proposal conflicting with one signed
     ├── ExecutionError                the EVM failed to run (not a revert: a fault)
     ├── CallFailed                    a simulated call (eth_call, eth_estimateGas) did not succeed
     │    └── ExecutionReverted(data)  it reverted; carries the revert data and decoded reason
     ├── HistoricalStateUnavailable(height, head)  state asked at a block before the head
     ├── StoreError                    the ledger store cannot be opened or read
     │    └── CorruptStore             the store is inconsistent; names what is wrong
     ├── ConfigError                   a node.toml that is missing or wrong
     │    └── GenesisError             a genesis.json that is missing or wrong
     ├── HandshakeFailed(reason, detail)  a peer connection refused before it carries messages
     ├── InvalidPeerMessage(reason)    a well-framed peer message its consumer refuses
     ├── LaunchError                   `baychain up/down` could not start or stop a local network
     └── NotFound                      an unknown block, transaction or account
"""

from __future__ import annotations


class BayChainError(Exception):
    """Root of every error BayChain raises on purpose."""


class DecodingError(BayChainError):
    """Bytes that do not parse as the expected canonical encoding."""


class FrameError(DecodingError):
    """A peer's byte stream that is not a sequence of well-formed frames
    (:mod:`baychain.network.frames`); the stream cannot be trusted past it."""


class FrameTooLarge(FrameError):
    """A frame whose length prefix announces more bytes than the receiver accepts."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"frame of {size} bytes exceeds the limit of {limit} bytes")


class CryptoError(BayChainError):
    """A cryptographic operation failed on the given input."""


class InvalidSignature(CryptoError):
    """A signature that does not verify, or from which no key can be recovered."""


class InvalidKey(CryptoError):
    """A private or public key that the suite does not accept."""


class DecryptionFailed(CryptoError):
    """An authenticated ciphertext whose tag does not match: wrong key or tampered bytes."""


class WrongPassword(DecryptionFailed):
    """A keystore whose authentication tag does not match under the given password."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(
            f"wrong password for keystore of {address}: the key cannot be decrypted "
            "(check the password in the node config or environment)"
        )


class InvalidTransaction(BayChainError):
    """A transaction that can never be part of a valid block."""


class MalformedTransaction(InvalidTransaction, DecodingError):
    """Bytes that do not decode as a transaction: bad RLP, wrong field count or width."""


class InvalidTransactionSignature(InvalidTransaction, InvalidSignature):
    """A transaction whose signature does not verify or yields no signer (EIP-2 high ``s``
    included), or whose carried public key is not a valid key."""


class UnsupportedTransactionType(InvalidTransaction):
    """A typed envelope whose type this chain does not accept."""

    def __init__(self, tx_type: int, reason: str = "") -> None:
        self.tx_type = tx_type
        detail = f": {reason}" if reason else ""
        super().__init__(f"transaction type 0x{tx_type:02x} is not supported{detail}")


class WrongChainId(InvalidTransaction):
    """A transaction signed for another chain."""

    def __init__(self, expected: int, got: int | None) -> None:
        self.expected = expected
        self.got = got
        shown = "none (pre-EIP-155 signature)" if got is None else str(got)
        super().__init__(
            f"wrong chain id: this chain is {expected}, the transaction is for {shown}"
        )


class TransactionTooLarge(InvalidTransaction):
    """A transaction whose encoding exceeds the configured size limit."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"transaction is {size} bytes, the limit is {limit} bytes")


class IntrinsicGasTooLow(InvalidTransaction):
    """A gas limit below the intrinsic cost of the transaction."""

    def __init__(self, required: int, got: int) -> None:
        self.required = required
        self.got = got
        super().__init__(f"intrinsic gas too low: needs {required}, gas limit is {got}")


class NonceLimitExceeded(InvalidTransaction):
    """EIP-2681: a nonce at or above ``2**64 - 1``, which the sender could never increment."""

    def __init__(self, nonce: int) -> None:
        self.nonce = nonce
        super().__init__(f"nonce {nonce} is at or above the EIP-2681 limit 2**64-1")


class PriorityFeeAboveMaxFee(InvalidTransaction):
    """EIP-1559: a max priority fee above the max fee per gas it is a part of."""

    def __init__(self, tip: int, fee_cap: int) -> None:
        self.tip = tip
        self.fee_cap = fee_cap
        super().__init__(f"max priority fee {tip} exceeds max fee per gas {fee_cap}")


class GasLimitPriceOverflow(InvalidTransaction):
    """A gas limit times fee cap (legacy: gas price) that does not fit 256 bits: no balance
    could ever cover it (the Ethereum reference tests' GASLIMIT_PRICE_PRODUCT_OVERFLOW)."""

    def __init__(self, gas_limit: int, fee_cap: int) -> None:
        self.gas_limit = gas_limit
        self.fee_cap = fee_cap
        super().__init__(f"gas limit {gas_limit} times fee cap {fee_cap} overflows 256 bits")


class InitCodeTooLarge(InvalidTransaction):
    """EIP-3860: a contract creation whose init code exceeds the size cap."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"init code is {size} bytes, the limit is {limit} bytes (EIP-3860)")


class TransactionRejected(BayChainError):
    """A well-formed transaction that the pool does not accept in the current state."""


class NonceTooLow(TransactionRejected):
    """The sender already used this nonce."""

    def __init__(self, expected: int, got: int) -> None:
        self.expected = expected
        self.got = got
        super().__init__(f"nonce too low: next nonce is {expected}, transaction has {got}")


class NonceTooHigh(TransactionRejected):
    """The nonce leaves a gap larger than the pool keeps queued."""

    def __init__(self, expected: int, got: int, max_gap: int) -> None:
        self.expected = expected
        self.got = got
        self.max_gap = max_gap
        super().__init__(
            f"nonce too high: next nonce is {expected}, transaction has {got} "
            f"(at most {max_gap} ahead are queued)"
        )


class InsufficientFunds(TransactionRejected):
    """The sender cannot pay value plus the maximum fee."""

    def __init__(self, required: int, balance: int) -> None:
        self.required = required
        self.balance = balance
        super().__init__(
            f"insufficient funds: needs {required} wei for value plus gas, balance is {balance}"
        )


class GasLimitExceeded(TransactionRejected):
    """A transaction whose gas limit exceeds the block gas limit."""

    def __init__(self, gas_limit: int, block_gas_limit: int) -> None:
        self.gas_limit = gas_limit
        self.block_gas_limit = block_gas_limit
        super().__init__(f"gas limit {gas_limit} exceeds the block gas limit {block_gas_limit}")


class BlockGasExhausted(GasLimitExceeded):
    """A gas limit above the gas the block being built or executed has left."""

    def __init__(self, gas_limit: int, gas_left: int, block_gas_limit: int) -> None:
        self.gas_limit = gas_limit
        self.gas_left = gas_left
        self.block_gas_limit = block_gas_limit
        TransactionRejected.__init__(
            self,
            f"gas limit {gas_limit} exceeds the block gas left ({gas_left} of {block_gas_limit})",
        )


class SenderNotEoa(TransactionRejected):
    """EIP-3607: a sender account with deployed code, which no private key controls."""

    def __init__(self, sender: bytes) -> None:
        self.sender = sender
        super().__init__(f"sender 0x{sender.hex()} has deployed code (EIP-3607)")


class FeeTooLow(TransactionRejected):
    """A fee cap below the chain's base fee."""

    def __init__(self, required: int, got: int) -> None:
        self.required = required
        self.got = got
        super().__init__(f"fee too low: the base fee is {required} wei, fee cap is {got}")


class AlreadyKnown(TransactionRejected):
    """The pool or the chain already holds this transaction."""

    def __init__(self, tx_hash: bytes) -> None:
        self.tx_hash = tx_hash
        super().__init__(f"transaction 0x{tx_hash.hex()} is already known")


class ReplacementUnderpriced(TransactionRejected):
    """A transaction reusing a pending nonce without a higher fee."""

    def __init__(self, tx_hash: bytes) -> None:
        self.tx_hash = tx_hash
        super().__init__(
            f"replacement transaction underpriced: 0x{tx_hash.hex()} holds this nonce "
            "and pays at least as much"
        )


class PoolFull(TransactionRejected):
    """The pool has reached its configured bound."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"transaction pool is full ({limit} transactions); try again later")


class PoolBytesFull(PoolFull):
    """The raw encodings held by the pool have reached its byte bound."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        TransactionRejected.__init__(
            self, f"transaction pool is full ({limit} bytes of transactions); try again later"
        )


class SenderPoolFull(PoolFull):
    """The sender already holds as many transactions in the pool as one sender may."""

    def __init__(self, sender: bytes, limit: int) -> None:
        self.sender = sender
        self.limit = limit
        TransactionRejected.__init__(
            self,
            f"sender 0x{sender.hex()} already has {limit} transactions in the pool; "
            "wait until some are included",
        )


class SenderQueueFull(PoolFull):
    """The sender already holds as many queued transactions (behind a nonce gap), or as
    many bytes of them, as one sender may."""

    def __init__(self, sender: bytes, limit: int, unit: str) -> None:
        self.sender = sender
        self.limit = limit
        self.unit = unit
        TransactionRejected.__init__(
            self,
            f"sender 0x{sender.hex()} already has {limit} {unit} of transactions waiting "
            "behind a nonce gap; send the missing nonce first",
        )


class InvalidBlock(BayChainError):
    """A block that breaks a validity rule."""


class InvalidCommitCertificate(InvalidBlock):
    """A commit certificate that does not prove a block final: a signature that does not
    verify, an unknown or repeated signer, a wrong height, round or block hash, or signers
    holding no more than two thirds of the voting power."""

    def __init__(self, height: int, round: int, reason: str) -> None:
        self.height = height
        self.round = round
        self.reason = reason
        super().__init__(f"invalid commit certificate for block {height} (round {round}): {reason}")


class DoubleSignRefused(BayChainError):
    """The consensus signer was asked to sign a vote or proposal that conflicts with one it
    already signed (same height, round and step, other content) or goes back in
    (height, round, step) order: signing it could make the validator equivocate."""

    def __init__(self, height: int, round: int, step: str) -> None:
        self.height = height
        self.round = round
        self.step = step
        super().__init__(
            f"refusing to sign a {step} at height {height}, round {round}: it conflicts with "
            "a message this validator already signed"
        )


class ExecutionError(BayChainError):
    """The execution engine faulted (distinct from a transaction that reverted)."""


class CallFailed(BayChainError):
    """A simulated call was refused (nonce, funds, gas) or halted (out of gas, invalid opcode)."""


class ExecutionReverted(CallFailed):
    """A simulated call ended in REVERT; ``data`` is the revert data, ``reason`` its decoding."""

    def __init__(self, data: bytes, reason: str | None = None) -> None:
        self.data = data
        self.reason = reason
        super().__init__("execution reverted" + (f": {reason}" if reason else ""))


class HistoricalStateUnavailable(BayChainError):
    """World state was asked at a block before the head; a node keeps only the head state."""

    def __init__(self, height: int, head: int) -> None:
        self.height = height
        self.head = head
        super().__init__(
            f"historical state is not available: this node keeps the state at its head "
            f"(block {head}) only, not at block {height}; ask for \"latest\""
        )


class StoreError(BayChainError):
    """The ledger store cannot be opened or read."""


class CorruptStore(StoreError):
    """The store opened but its contents are inconsistent."""


class ConfigError(BayChainError):
    """A node configuration file that is missing or invalid."""


class GenesisError(ConfigError):
    """A genesis file that is missing or invalid."""


class HandshakeFailed(BayChainError):
    """A peer connection refused before it carries messages (:mod:`baychain.network.handshake`).

    ``reason`` is a short stable code (``"not_allowed"``, ``"wrong_genesis"``,
    ``"bad_signature"``, ...: :class:`baychain.network.handshake.Refusal`) fit for metrics;
    ``detail`` explains it to an operator.
    """

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"peer handshake failed ({reason}): {detail}")


class InvalidPeerMessage(BayChainError):
    """A well-framed message from a peer that its consumer refuses (undecodable, wrongly
    signed, replayed). A network message handler raises it to have the message dropped
    and the peer's misbehaviour score raised."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"invalid peer message: {reason}")


class LaunchError(BayChainError):
    """A local network (``baychain up`` / ``down``) that could not be started or stopped.

    The message names the node and what to do (a port in use, a node that exited
    at start with the tail of its log, a network that did not commit in time).
    """


class NotFound(BayChainError):
    """An unknown block, transaction, receipt or account."""
