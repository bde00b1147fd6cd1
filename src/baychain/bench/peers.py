"""The peer nodes the bench compares with, installed from npm into a folder the bench owns.

The bench ships an npm project (``bench/npm/package.json`` and its ``package-lock.json``)
that pins :data:`PEER_PACKAGES`. :func:`ensure_peers` copies both files into the peers
folder and runs ``npm ci`` there once; a stamp file holds the hash of the two files, so
later runs reuse the install and a new lock (a BayChain upgrade) installs again. Nothing is
installed globally and nothing outside the folder is written (npm's own cache aside).

The folder is ``$BAYCHAIN_BENCH_HOME`` when set, else ``~/.cache/baychain/bench-peers``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from baychain.bench.errors import BenchError
from baychain.bench.process import log_tail

__all__ = [
    "HOME_ENV",
    "NPM_PROJECT_DIR",
    "PEER_PACKAGES",
    "default_peers_dir",
    "ensure_peers",
    "installed_version",
    "lock_digest",
    "package_dir",
]

PEER_PACKAGES: dict[str, str] = {"hardhat": "2.29.1", "ganache": "7.9.2"}
"""npm package -> the exact version the bench installs (hardhat as in examples/hardhat)."""
HOME_ENV = "BAYCHAIN_BENCH_HOME"
"""Environment variable naming the peers folder."""
NPM_PROJECT_DIR = Path(__file__).resolve().parent / "npm"
"""The committed package.json and package-lock.json."""
NPM_TIMEOUT_S = 900.0
"""How long ``npm ci`` may take (about 20 s and 470 MB on a fast link)."""
_PROJECT_FILES = ("package.json", "package-lock.json")
_STAMP = ".baychain-peers-stamp"
_LOCK = ".baychain-peers-lock"
_INSTALL_LOG = "npm-install.log"


def default_peers_dir() -> Path:
    """``$BAYCHAIN_BENCH_HOME``, else ``~/.cache/baychain/bench-peers``."""
    configured = os.environ.get(HOME_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "baychain" / "bench-peers"


def package_dir(peers_dir: Path, name: str) -> Path:
    """Where npm put package ``name`` inside the peers folder."""
    return peers_dir / "node_modules" / name


def installed_version(peers_dir: Path, name: str) -> str:
    """The version of ``name`` installed in ``peers_dir``; BenchError when it is not there."""
    manifest = package_dir(peers_dir, name) / "package.json"
    try:
        return str(json.loads(manifest.read_text())["version"])
    except (OSError, ValueError, KeyError, TypeError):
        raise BenchError(
            f"{name} is not installed in {peers_dir} ({manifest} is missing or unreadable)"
        ) from None


def lock_digest() -> str:
    """SHA-256 (hex) of the committed package.json and package-lock.json."""
    digest = hashlib.sha256()
    for file_name in _PROJECT_FILES:
        digest.update((NPM_PROJECT_DIR / file_name).read_bytes())
    return digest.hexdigest()


def ensure_peers(peers_dir: Path, names: Sequence[str], *, out: TextIO) -> dict[str, str]:
    """Install the pinned peers into ``peers_dir`` unless already there; return name -> version.

    ``npm ci`` runs only when the stamp does not match the committed lock or a package is
    missing. Concurrent benches wait for each other (a file lock). Raise
    :class:`BenchError` for an unknown name, a missing npm, a failed install (with the
    tail of its log) or an installed version that differs from the pin.
    """
    unknown = [name for name in names if name not in PEER_PACKAGES]
    if unknown:
        raise BenchError(
            f"unknown peer {', '.join(unknown)}; the bench compares with "
            + ", ".join(sorted(PEER_PACKAGES))
        )
    if not names:
        return {}
    peers_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(peers_dir / _LOCK):
        if _needs_install(peers_dir):
            _install(peers_dir, out)
        else:
            out.write(f"peers: reusing the npm install in {peers_dir}\n")
    versions = {name: installed_version(peers_dir, name) for name in names}
    for name, version in versions.items():
        if version != PEER_PACKAGES[name]:
            raise BenchError(
                f"{peers_dir} holds {name} {version}, not the pinned {PEER_PACKAGES[name]}; "
                f"remove {peers_dir} and run the bench again"
            )
    out.write(
        "peers: " + ", ".join(f"{name} {version}" for name, version in versions.items()) + "\n"
    )
    out.flush()
    return versions


def _needs_install(peers_dir: Path) -> bool:
    """True when the stamp is not the committed lock's digest or a package is missing."""
    try:
        stamp = (peers_dir / _STAMP).read_text().strip()
    except OSError:
        return True
    if stamp != lock_digest():
        return True
    return not all((package_dir(peers_dir, n) / "package.json").is_file() for n in PEER_PACKAGES)


def _install(peers_dir: Path, out: TextIO) -> None:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise BenchError(
            "the peers (Hardhat, Ganache) are npm packages: install Node.js 18 or newer "
            "with npm (https://nodejs.org), or drop --compare"
        )
    pins = ", ".join(f"{name} {version}" for name, version in PEER_PACKAGES.items())
    out.write(f"peers: installing {pins} with npm into {peers_dir} (first time: ~470 MB)...\n")
    out.flush()
    (peers_dir / _STAMP).unlink(missing_ok=True)
    for file_name in _PROJECT_FILES:
        shutil.copyfile(NPM_PROJECT_DIR / file_name, peers_dir / file_name)
    log = peers_dir / _INSTALL_LOG
    environment = dict(os.environ, npm_config_update_notifier="false")
    try:
        with log.open("wb") as sink:
            result = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=peers_dir,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=environment,
                timeout=NPM_TIMEOUT_S,
                check=False,
            )
    except subprocess.TimeoutExpired:
        raise BenchError(
            f"npm ci in {peers_dir} took longer than {NPM_TIMEOUT_S:.0f}s; see {log}"
        ) from None
    if result.returncode != 0:
        raise BenchError(
            f"npm ci in {peers_dir} failed (status {result.returncode}); "
            f"the end of {log}:\n{log_tail(log)}"
        )
    (peers_dir / _STAMP).write_text(lock_digest() + "\n")
    out.write("peers: npm install done\n")


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed) for the block."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
