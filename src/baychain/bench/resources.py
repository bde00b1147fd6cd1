"""CPU and memory of the node processes while a load runs, sampled with psutil.

A :class:`ResourceSampler` watches the given pids and all their descendants (found again
at every sample, since a ``node`` shim or a launcher may spawn children). CPU is user +
system time: for each process the last value seen minus the value when the window began
(zero for a process born inside the window), summed. A process that exits between two
samples loses the CPU it used since the last one, at most one interval's worth. Memory is
resident set size summed over the processes alive at a sample; the peak is the largest sum.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import psutil

__all__ = ["SAMPLE_INTERVAL_S", "ResourceSampler", "ResourceSummary"]

SAMPLE_INTERVAL_S = 0.5
"""Default time between two samples."""


@dataclass
class ResourceSummary:
    """What the node processes used over the sampling window."""

    cpu_seconds: float
    """User + system CPU time used inside the window, all processes together."""
    cpu_percent_mean: float
    """``cpu_seconds`` over the window's wall time, in percent of one core (may pass 100)."""
    peak_rss_bytes: int
    """The largest resident set size summed over the processes at one sample."""
    wall_seconds: float = 0.0
    """The window's length."""
    samples: list[tuple[float, float, int]] = field(default_factory=list)
    """(seconds since start, CPU % of one core since the previous sample, RSS bytes total)."""


class ResourceSampler:
    """Samples the processes ``pids`` (and their descendants) on a background thread."""

    def __init__(self, pids: Sequence[int], interval_s: float = SAMPLE_INTERVAL_S) -> None:
        """Prepare to watch ``pids``; pids that do not exist are ignored."""
        if interval_s <= 0:
            raise ValueError(f"the sampling interval must be positive, got {interval_s}")
        self.pids = tuple(pids)
        self.interval_s = interval_s
        self._roots: list[psutil.Process] = []
        self._first_cpu: dict[tuple[int, float], float] = {}
        self._last_cpu: dict[tuple[int, float], float] = {}
        self._samples: list[tuple[float, float, int]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started_at = 0.0
        self._last_sample_at = 0.0

    def start(self) -> None:
        """Take the first sample (the window's baseline) and start the thread."""
        if self._thread is not None:
            raise RuntimeError("this ResourceSampler has already been started")
        for pid in self.pids:
            # a psutil handle remembers the process's birth time, so a reused pid is not it
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                self._roots.append(psutil.Process(pid))
        self._started_at = self._last_sample_at = time.monotonic()
        self._sample(baseline=True)
        self._thread = threading.Thread(target=self._run, name="resource-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> ResourceSummary:
        """Take a last sample, stop the thread and summarise the window."""
        if self._thread is None:
            raise RuntimeError("this ResourceSampler was not started")
        self._stop.set()
        self._thread.join()
        self._sample(baseline=False)
        wall = time.monotonic() - self._started_at
        cpu = self._cpu_used()
        return ResourceSummary(
            cpu_seconds=cpu,
            cpu_percent_mean=100.0 * cpu / wall if wall > 0 else 0.0,
            peak_rss_bytes=max((rss for _, _, rss in self._samples), default=0),
            wall_seconds=wall,
            samples=list(self._samples),
        )

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample(baseline=False)

    def _sample(self, *, baseline: bool) -> None:
        """Record one sample; with ``baseline`` the CPU times seen are the window's zero."""
        now = time.monotonic()
        before = self._cpu_used()
        rss = 0
        for process in self._tree():
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    memory = process.memory_info()
                    # a pid may be reused inside the window: key by (pid, birth time)
                    key = (process.pid, process.create_time())
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
            used = times.user + times.system
            self._first_cpu.setdefault(key, used if baseline else 0.0)
            self._last_cpu[key] = used
            rss += memory.rss
        elapsed = now - self._last_sample_at
        percent = 100.0 * (self._cpu_used() - before) / elapsed if elapsed > 0 else 0.0
        self._last_sample_at = now
        self._samples.append((now - self._started_at, percent, rss))

    def _cpu_used(self) -> float:
        """CPU seconds used inside the window so far, by the processes seen so far."""
        return sum(used - self._first_cpu[key] for key, used in self._last_cpu.items())

    def _tree(self) -> list[psutil.Process]:
        """The watched processes and all their living descendants, each once."""
        found: dict[int, psutil.Process] = {}
        for root in self._roots:
            if not root.is_running():
                continue
            found[root.pid] = root
            try:
                children = root.children(recursive=True)
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
            for child in children:
                found.setdefault(child.pid, child)
        return list(found.values())
