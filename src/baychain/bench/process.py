"""A node process the bench owns: started in its own process group, always stopped.

Peers run as ``node .../cli.js`` and may spawn helpers, so the bench signals the whole
group: SIGTERM, then SIGKILL after a timeout, then waits until the members are gone. The
leader is waited for *without* being reaped (``waitid`` with ``WNOWAIT``) until then, so
its pid, which is the group id, cannot be reused by an unrelated process meanwhile.

``HOST`` and ``log_tail`` are the local network's
(:mod:`baychain.node.localnet.processes`), re-exported for the bench's modules.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

from baychain.bench.errors import BenchError
from baychain.errors import ConfigError
from baychain.node.localnet import processes
from baychain.node.localnet.processes import HOST, log_tail

__all__ = ["HOST", "STOP_TIMEOUT_S", "GroupProcess", "free_port_base", "log_tail"]

STOP_TIMEOUT_S = 10.0
"""How long a process group has to exit after SIGTERM before it is killed."""
_POLL_S = 0.05


def free_port_base(count: int) -> int:
    """A port ``base`` such that ``base .. base+count-1`` are free on loopback right now
    (:func:`baychain.node.localnet.processes.free_port_base`).

    Another program may take one before the caller binds it; the caller's start then
    fails with a clear "port in use" error rather than measuring the wrong process.
    """
    try:
        return processes.free_port_base(count)
    except ConfigError as error:
        raise BenchError(str(error)) from None


class GroupProcess:
    """One command running in a new session (its own process group), output to a log file."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        log: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """Start ``argv`` in ``cwd``; stdout and stderr go to ``log`` (appended).

        Raise :class:`BenchError` when the program cannot be started at all.
        """
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        try:
            with log.open("ab") as sink:
                self._process = subprocess.Popen(
                    list(argv),
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    env=None if env is None else dict(env),
                    start_new_session=True,
                )
        except OSError as error:
            raise BenchError(f"cannot start {argv[0]}: {error}") from None
        self.pid = self._process.pid
        self._stopped = False

    def exit_status(self) -> int | None:
        """The exit status once the leader has exited, else None; never reaps it."""
        if self._process.returncode is not None:
            return self._process.returncode
        info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
        return None if info is None else info.si_status

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM the group, SIGKILL it after ``timeout_s``, wait until it is gone; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        descendants = self._descendants()
        self._signal_group(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while self.exit_status() is None and time.monotonic() < deadline:
            time.sleep(_POLL_S)
        # The leader is exited but unreaped (or still running): the group id is still ours,
        # so a SIGKILL reaches only what is left of this group.
        self._signal_group(signal.SIGKILL)
        deadline = time.monotonic() + timeout_s
        while any(_running(p) for p in descendants) and time.monotonic() < deadline:
            time.sleep(_POLL_S)
        self._process.wait()

    def _descendants(self) -> list[psutil.Process]:
        """The leader's living descendants (found before it exits and they are orphaned)."""
        try:
            return psutil.Process(self.pid).children(recursive=True)
        except psutil.Error:
            return []

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)


def _running(process: psutil.Process) -> bool:
    """True while ``process`` lives; an exited one is a zombie until init reaps it."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
