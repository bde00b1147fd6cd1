"""machine_info: what a result's manifest says about the machine."""

from __future__ import annotations

import os
import shutil
import sys

import baychain
from baychain.bench.manifest import cpu_model, machine_info, tool_version


def test_machine_info_describes_this_machine() -> None:
    info = machine_info()
    assert info["cores"] == os.cpu_count()
    assert info["physical_cores"] is None or 1 <= info["physical_cores"] <= info["cores"]
    assert info["memory_bytes"] > 256 * 1024 * 1024
    assert info["python"] == ".".join(map(str, sys.version_info[:3]))
    assert info["baychain"] == baychain.__version__
    assert info["os"] and info["kernel"]
    if sys.platform == "linux":
        assert info["cpu_model"] == cpu_model() and info["cpu_model"]


def test_tool_versions_are_read_or_none() -> None:
    assert tool_version("no-such-program-baychain-bench") is None
    node = tool_version("node")
    if shutil.which("node") is None:
        assert node is None
    else:
        assert node is not None and node.startswith("v")
