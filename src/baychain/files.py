"""Files only their owner may read: keys, passwords, the signer state.

:func:`write_private` is the one place that creates such a file. It opens the file
with mode 0600 (owner read and write), so the secret is never readable by others,
not even for the moment between creating the file and changing its mode. An
existing file is truncated and keeps its mode.

With ``durable=True`` the bytes go to a temporary file beside the target, which is
fsynced, renamed over the target (atomic on POSIX) and followed by an fsync of the
directory: after a crash the path holds either the previous content or the new
one, never a mix, and once the call returns the new content survives a power loss.
A validator's signer state needs this (docs/consensus.md); a freshly created key
does not.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["OWNER_ONLY_MODE", "write_private"]

OWNER_ONLY_MODE = 0o600
"""Read and write for the owner, nothing for group and others."""


def write_private(path: Path, data: bytes | str, *, durable: bool = False) -> None:
    """Write ``data`` (a str is UTF-8 encoded) to ``path``, readable by its owner only."""
    content = data.encode() if isinstance(data, str) else data
    if not durable:
        _write_all(path, content, sync=False)
        return
    temporary = path.with_name(path.name + ".tmp")
    _write_all(temporary, content, sync=True)
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _write_all(path: Path, content: bytes, *, sync: bool) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY_MODE)
    try:
        view = memoryview(content)
        while view:
            written = os.write(descriptor, view)
            view = view[written:]
        if sync:
            os.fsync(descriptor)
    finally:
        os.close(descriptor)
