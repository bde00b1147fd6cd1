"""The machine a benchmark ran on, for every result's manifest.

A throughput figure means little without the hardware and software behind it (the
Hyperledger PSWG white paper asks for both): :func:`machine_info` records the CPU model,
core counts, memory, operating system and kernel, and the Python, BayChain, Node.js and
npm versions. What cannot be found is recorded as None, never guessed.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psutil

import baychain

__all__ = ["machine_info"]

_CPUINFO = Path("/proc/cpuinfo")
_VERSION_TIMEOUT_S = 30.0


def machine_info() -> dict[str, Any]:
    """cpu_model, cores (logical), physical_cores, memory_bytes, os, kernel, python,
    baychain, node and npm (None for a tool that is not installed)."""
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_bytes": psutil.virtual_memory().total,
        "os": platform.platform(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "baychain": baychain.__version__,
        "node": tool_version("node"),
        "npm": tool_version("npm"),
    }


def cpu_model() -> str | None:
    """The first ``model name`` of /proc/cpuinfo, else what ``platform`` knows, else None."""
    try:
        for line in _CPUINFO.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or None


def tool_version(program: str) -> str | None:
    """``program --version``'s first line (``v20.11.0`` for node), None when absent or failing."""
    path = shutil.which(program)
    if path is None:
        return None
    try:
        result = subprocess.run(
            [path, "--version"],
            capture_output=True,
            text=True,
            timeout=_VERSION_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = result.stdout.strip().splitlines()
    return lines[0] if result.returncode == 0 and lines else None
