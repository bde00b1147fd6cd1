"""What every campaign script shares around its campaign: the common options, the network
directory (and the snapshot of ``src/`` its nodes run from), and the summary's ending."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faultkit.checks import write_summary
from faultkit.localnet import snapshot_sources


def add_common_options(parser: argparse.ArgumentParser, default_out: Path) -> None:
    """``--rate``, ``--dir``, ``--out`` and ``--live-sources``."""
    parser.add_argument("--rate", type=float, default=8.0, help="offered tx/s (default 8)")
    parser.add_argument("--dir", type=Path, default=None, help="network directory (new)")
    parser.add_argument("--out", type=Path, default=default_out)
    parser.add_argument(
        "--live-sources",
        action="store_true",
        help="run the nodes from src/ itself, not from a copy taken at the start",
    )


def network_directory(args: argparse.Namespace, name: str) -> Path:
    """The network directory to create (``--dir`` or a fresh temporary one); unless
    ``--live-sources``, first snapshot ``src/`` so that edits made during a long run do
    not reach nodes restarted by it."""
    directory: Path = args.dir or Path(tempfile.mkdtemp(prefix=f"baychain-{name}-")) / "net"
    if not args.live_sources:
        snapshot = snapshot_sources(Path(tempfile.mkdtemp(prefix="baychain-src-")))
        print(f"nodes run from a snapshot of src/: {snapshot}")
    return directory


def finish(
    summary: dict[str, Any],
    *,
    script: str,
    argv: list[str] | None,
    directory: Path,
    out: Path,
    print_summary: Callable[[dict[str, Any]], None],
) -> None:
    """Record the command and the network directory, print the summary and write it."""
    summary["command"] = " ".join([script, *(argv or sys.argv[1:])])
    summary["network_dir"] = str(directory)
    print_summary(summary)
    write_summary(out, summary)
    print(f"  summary written to {out}; node logs in {directory}")
