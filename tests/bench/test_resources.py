"""The resource sampler: CPU seconds and memory of real processes, their children included."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest

from baychain.bench.resources import ResourceSampler

# A parent that only waits on a child that burns CPU and holds ~64 MiB: what the sampler
# sees of it must come from following the parent's descendants.
PARENT = f"""
import subprocess, sys
child = subprocess.Popen([{sys.executable!r}, "-c",
    "block = bytearray(64 * 1024 * 1024)\\nwhile True: pass"])
print(child.pid, flush=True)
child.wait()
"""


@pytest.fixture
def parent() -> Iterator[tuple[subprocess.Popen[str], int]]:
    process = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    child = int(process.stdout.readline())
    try:
        yield process, child
    finally:
        for pid in (child, process.pid):
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).kill()
        process.wait()


def test_sampler_counts_the_cpu_and_memory_of_descendants(
    parent: tuple[subprocess.Popen[str], int],
) -> None:
    process, child = parent
    time.sleep(0.3)  # let the child allocate its block
    sampler = ResourceSampler([process.pid], interval_s=0.1)
    sampler.start()
    time.sleep(1.5)
    summary = sampler.stop()
    child_cpu = psutil.Process(child).cpu_times()
    # The child spins the whole window; on a busy shared machine it gets at least a share.
    assert 0.2 < summary.cpu_seconds <= summary.wall_seconds * 1.05 + 0.1
    assert summary.cpu_seconds <= child_cpu.user + child_cpu.system + 0.2
    assert summary.cpu_percent_mean == pytest.approx(
        100 * summary.cpu_seconds / summary.wall_seconds
    )
    assert summary.peak_rss_bytes > 64 * 1024 * 1024
    times = [t for t, _, _ in summary.samples]
    assert times == sorted(times) and len(times) >= 10
    assert max(cpu for _, cpu, _ in summary.samples) > 10


def test_sampler_of_processes_that_are_gone_reports_nothing() -> None:
    finished = subprocess.run([sys.executable, "-c", "pass"], check=True)
    assert finished.returncode == 0
    gone = psutil.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    sampler = ResourceSampler([gone.pid], interval_s=0.05)
    sampler.start()
    time.sleep(0.2)
    summary = sampler.stop()
    assert summary.cpu_seconds == 0 and summary.peak_rss_bytes == 0


def test_sampler_refuses_misuse() -> None:
    with pytest.raises(ValueError, match="positive"):
        ResourceSampler([1], interval_s=0)
    sampler = ResourceSampler([])
    with pytest.raises(RuntimeError, match="not started"):
        sampler.stop()
    sampler.start()
    with pytest.raises(RuntimeError, match="already"):
        sampler.start()
    sampler.stop()
