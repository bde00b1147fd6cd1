"""A Byzantine validator process: one validator's key and certificate, one scripted attack.

Run by ``bench/faults/byzantine.py`` in place of that validator's ``baychain node``
(see faultkit.attacks for what each attack sends). It prints ``READY <peers>`` once
connected to the honest validators, attacks for ``--duration-s`` seconds, then writes
its counts as JSON to ``--out``.

    .venv/bin/python bench/faults/attacker.py --network-dir DIR --node node3 \
        --attack request-flood --duration-s 30 --out stats.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

from faultkit.attacks import ATTACK_FUNCTIONS, run_attacker


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, attack, write the counts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--network-dir", type=Path, required=True)
    parser.add_argument("--node", default="node3", help="the validator to impersonate")
    parser.add_argument("--attack", choices=sorted(ATTACK_FUNCTIONS), required=True)
    parser.add_argument("--duration-s", type=float, default=30.0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(asctime)s %(name)s %(message)s")

    def ready(connected: int) -> None:
        print(f"READY {connected}", flush=True)

    def report(result: dict[str, Any]) -> None:
        temporary = args.out.with_suffix(".tmp")
        temporary.write_text(json.dumps(result, indent=2) + "\n")
        temporary.replace(args.out)  # the orchestrator polls for the file
        print("DONE", flush=True)

    asyncio.run(
        run_attacker(args.network_dir, args.node, args.attack, args.duration_s, ready, report)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
