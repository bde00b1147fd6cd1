"""Signature checks for consensus, with an optional memo of results.

A validator's vote is checked by every node that receives it and again by anyone
verifying a certificate that contains it; the same (key, message, signature)
triple recurs (rebroadcasts, catch-up, the simulator's many nodes in one
process). :class:`CachingVerifier` remembers the answer for a bounded number of
triples. The answer of a signature check is a pure function of the triple, so a
cached answer is the answer.
"""

from __future__ import annotations

from typing import Protocol

from baychain.crypto.suite import CryptoSuite

__all__ = ["CachingVerifier", "SignatureVerifier", "SuiteVerifier"]


class SignatureVerifier(Protocol):
    """Answers whether ``signature`` signs ``message`` under a 64-byte ``public_key``."""

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        """True iff the signature is valid."""
        ...


class SuiteVerifier:
    """Checks every signature with the suite, remembering nothing."""

    def __init__(self, suite: CryptoSuite) -> None:
        self.suite = suite

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        """True iff ``suite.verify`` accepts the signature."""
        return self.suite.verify(public_key, message, signature)


class CachingVerifier:
    """Checks with the suite (or with ``inner``) and remembers the last ``capacity``
    answers (FIFO eviction), invalid ones included."""

    def __init__(
        self,
        suite: CryptoSuite,
        capacity: int = 65_536,
        *,
        inner: SignatureVerifier | None = None,
    ) -> None:
        self.suite = suite
        self.capacity = capacity
        self._inner: SignatureVerifier = inner if inner is not None else SuiteVerifier(suite)
        self._answers: dict[tuple[bytes, bytes, bytes], bool] = {}
        self.hits = 0
        self.misses = 0

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        """True iff the signature is valid (answered from memory if seen)."""
        key = (public_key, message, signature)
        answer = self._answers.get(key)
        if answer is not None:
            self.hits += 1
            return answer
        self.misses += 1
        answer = self._inner.verify(public_key, message, signature)
        if len(self._answers) >= self.capacity:
            del self._answers[next(iter(self._answers))]
        self._answers[key] = answer
        return answer
