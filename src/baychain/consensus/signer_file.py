"""A signer state kept in one file, replaced atomically and synced to disk.

Layout: ``MAGIC (8) || sha256(body) (32) || body`` where ``body`` is
:func:`~baychain.consensus.safety.encode_signer_state`. A save is
:func:`~baychain.files.write_private` with ``durable=True``: a temporary file
beside the target, fsynced, renamed over the target (atomic on POSIX), then the
directory fsynced, so after a crash the file holds either the previous state or
the new one, never a mix. A file that is present but does not parse or
whose checksum fails is refused with :class:`~baychain.errors.CorruptStore`: a
validator that cannot know what it signed must not sign (an operator has to look).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from baychain.consensus.safety import SignerState, decode_signer_state, encode_signer_state
from baychain.errors import CorruptStore, DecodingError
from baychain.files import write_private

__all__ = ["SIGNER_FILE_MAGIC", "FileSignerStore"]

SIGNER_FILE_MAGIC = b"BCSIGN01"
"""First bytes of a signer state file (format version 1)."""


class FileSignerStore:
    """The :class:`~baychain.consensus.safety.SignerStore` of a production validator."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> SignerState | None:
        """The saved state, None if the file does not exist; CorruptStore if it is damaged."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        magic, digest, body = data[:8], data[8:40], data[40:]
        if magic != SIGNER_FILE_MAGIC:
            raise CorruptStore(f"{self.path} is not a BayChain signer state file")
        if hashlib.sha256(body).digest() != digest:
            raise CorruptStore(
                f"{self.path} is damaged (checksum mismatch); restore it from a backup"
            )
        try:
            return decode_signer_state(body)
        except DecodingError as exc:
            raise CorruptStore(f"{self.path} does not hold a signer state: {exc}") from exc

    def save(self, state: SignerState) -> None:
        """Replace the file with ``state``; return once it is on disk."""
        body = encode_signer_state(state)
        data = SIGNER_FILE_MAGIC + hashlib.sha256(body).digest() + body
        write_private(self.path, data, durable=True)
