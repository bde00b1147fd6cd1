"""write_private: the one way BayChain writes a secret to disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from baychain.files import write_private


@pytest.mark.parametrize("durable", [False, True])
def test_a_private_file_is_readable_by_its_owner_only(tmp_path: Path, durable: bool) -> None:
    path = tmp_path / "secret"
    write_private(path, "pässword\n", durable=durable)
    assert path.read_bytes() == "pässword\n".encode()
    assert path.stat().st_mode & 0o777 == 0o600
    write_private(path, b"\x00\x01", durable=durable)
    assert path.read_bytes() == b"\x00\x01"
    assert [p.name for p in tmp_path.iterdir()] == ["secret"]  # no temporary file is left
