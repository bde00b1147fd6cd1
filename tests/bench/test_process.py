"""GroupProcess: a started process group is always gone after stop, stubborn members too."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

from baychain.bench.errors import BenchError
from baychain.bench.process import GroupProcess, free_port_base, log_tail

# A leader that ignores SIGTERM and has a child that ignores it too.
STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time\\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\\ntime.sleep(600)"])
print("child", child.pid, flush=True)
time.sleep(600)
"""


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def wait_for_line(log: Path, prefix: str, timeout_s: float = 20.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if line.startswith(prefix):
                return line
        time.sleep(0.05)
    raise AssertionError(f"no {prefix!r} line in {log}")


def test_stop_kills_a_group_that_ignores_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "stubborn.log"
    process = GroupProcess([sys.executable, "-c", STUBBORN], cwd=tmp_path, log=log)
    child = int(wait_for_line(log, "child").split()[1])
    assert sorted(group_members(process.pid)) == sorted([process.pid, child])
    assert process.exit_status() is None
    started = time.monotonic()
    process.stop(timeout_s=0.5)
    assert time.monotonic() - started < 5
    assert group_members(process.pid) == []
    process.stop()  # idempotent


def test_exit_status_does_not_reap_and_stop_after_exit_is_quiet(tmp_path: Path) -> None:
    log = tmp_path / "short.log"
    process = GroupProcess(
        [sys.executable, "-c", "print('bye'); raise SystemExit(3)"], cwd=tmp_path, log=log
    )
    deadline = time.monotonic() + 20
    while process.exit_status() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.exit_status() == 3
    assert os.path.exists(f"/proc/{process.pid}")  # a zombie until stop reaps it
    process.stop()
    assert not os.path.exists(f"/proc/{process.pid}")
    assert log_tail(log) == "bye"


def test_a_missing_program_is_a_bench_error(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="cannot start /no/such/program"):
        GroupProcess(["/no/such/program"], cwd=tmp_path, log=tmp_path / "x.log")


def test_free_port_base_gives_bindable_consecutive_ports() -> None:
    base = free_port_base(3)
    sockets = [socket.socket() for _ in range(3)]
    try:
        for offset, sock in enumerate(sockets):
            sock.bind(("127.0.0.1", base + offset))
    finally:
        for sock in sockets:
            sock.close()


def test_log_tail_of_a_missing_file_is_empty(tmp_path: Path) -> None:
    assert log_tail(tmp_path / "none.log") == ""
