"""ensure_peers: the pinned npm install, done once and reused; precise errors otherwise.

The test that installs uses the bench's own folder (``$BAYCHAIN_BENCH_HOME`` or
``~/.cache/baychain/bench-peers``), so CI installs once (~25 s, ~470 MB) and reuses it.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from baychain.bench.errors import BenchError
from baychain.bench.peers import (
    NPM_PROJECT_DIR,
    PEER_PACKAGES,
    default_peers_dir,
    ensure_peers,
    lock_digest,
)

REPO = Path(__file__).resolve().parents[2]
STAMP = ".baychain-peers-stamp"


def test_the_committed_npm_project_pins_exactly_the_peer_packages() -> None:
    package = json.loads((NPM_PROJECT_DIR / "package.json").read_text())
    assert package["dependencies"] == PEER_PACKAGES
    lock = json.loads((NPM_PROJECT_DIR / "package-lock.json").read_text())
    for name, version in PEER_PACKAGES.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    assert lock["packages"][""]["dependencies"] == PEER_PACKAGES


def test_hardhat_is_the_version_the_hardhat_example_uses() -> None:
    example = json.loads((REPO / "examples/hardhat/package-lock.json").read_text())
    assert example["packages"]["node_modules/hardhat"]["version"] == PEER_PACKAGES["hardhat"]


def test_default_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAYCHAIN_BENCH_HOME", "/srv/bench")
    assert default_peers_dir() == Path("/srv/bench")
    monkeypatch.delenv("BAYCHAIN_BENCH_HOME")
    assert default_peers_dir() == Path.home() / ".cache" / "baychain" / "bench-peers"


def test_unknown_peer_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="unknown peer geth; the bench compares with ganache"):
        ensure_peers(tmp_path, ["geth"], out=io.StringIO())
    assert ensure_peers(tmp_path / "unused", [], out=io.StringIO()) == {}
    assert not (tmp_path / "unused").exists()


def fake_install(peers_dir: Path, versions: dict[str, str], stamp: str) -> None:
    """A folder as npm would leave it: package.json of each package, and the stamp."""
    for name, version in versions.items():
        package = peers_dir / "node_modules" / name
        package.mkdir(parents=True)
        (package / "package.json").write_text(json.dumps({"name": name, "version": version}))
    (peers_dir / STAMP).write_text(stamp + "\n")


def without_npm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_a_changed_lock_installs_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    peers = tmp_path / "peers"
    fake_install(peers, PEER_PACKAGES, stamp="an older lock")
    without_npm(monkeypatch, tmp_path)  # the install it attempts then fails, precisely
    with pytest.raises(BenchError, match=r"install Node\.js 18 or newer with npm"):
        ensure_peers(peers, ["hardhat"], out=io.StringIO())


def test_a_current_install_is_reused_without_npm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    peers = tmp_path / "peers"
    fake_install(peers, PEER_PACKAGES, stamp=lock_digest())
    without_npm(monkeypatch, tmp_path)
    out = io.StringIO()
    assert ensure_peers(peers, ["ganache"], out=out) == {"ganache": PEER_PACKAGES["ganache"]}
    assert "reusing" in out.getvalue()


def test_an_installed_version_other_than_the_pin_is_refused(tmp_path: Path) -> None:
    peers = tmp_path / "peers"
    fake_install(peers, {**PEER_PACKAGES, "hardhat": "2.0.0"}, stamp=lock_digest())
    with pytest.raises(BenchError, match=r"holds hardhat 2\.0\.0, not the pinned"):
        ensure_peers(peers, ["hardhat"], out=io.StringIO())


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_ensure_peers_installs_the_pins_once() -> None:
    peers = default_peers_dir()
    first = ensure_peers(peers, ["hardhat", "ganache"], out=io.StringIO())
    assert first == PEER_PACKAGES
    assert (peers / STAMP).read_text().strip() == lock_digest()
    again = io.StringIO()
    assert ensure_peers(peers, ["hardhat", "ganache"], out=again) == PEER_PACKAGES
    assert "reusing the npm install" in again.getvalue()
