"""Where the block benchmark's time goes: cProfile of its two phases, admission and sealing.

Runs the same workload as ``block_bench.py`` (same genesis, keys and signed
transactions) for one suite and workload, with one profiler switched on around
``Node.submit_transaction`` calls and another around ``Node.seal_block``, and
prints each phase's functions by own time and by cumulative time. cProfile
inflates the cost of small Python functions; for a sampling view (flame graph)
run the benchmark itself under py-spy instead:

    py-spy record -r 250 -o docs/profiles/block-ecdsa-erc20-after.svg -- \\
        python3 bench/block_bench.py --suites ecdsa --workloads erc20

Run:  python bench/profile_block.py [--suite ecdsa] [--workload erc20] [--txs 10000]
                                    [--block 5000] [--top 25] [--save PREFIX]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from block_bench import check_block, open_node, prepare


def profile(
    suite: str, workload: str, total: int, block_txs: int, accounts: int, slot_of: int
) -> tuple[cProfile.Profile, cProfile.Profile]:
    """Run the workload; return the profiles of the admission and sealing phases."""
    load = prepare(suite, workload, total, accounts, slot_of)
    admit, seal = cProfile.Profile(), cProfile.Profile()
    with tempfile.TemporaryDirectory(prefix="baychain-profile-") as directory:
        node = open_node(Path(directory), load, block_txs)
        clock = 1_000
        for start in range(0, len(load.raws), block_txs):
            admit.enable()
            for raw in load.raws[start : start + block_txs]:
                node.submit_transaction(raw)
            admit.disable()
            clock += 1_000
            seal.enable()
            proposed = node.seal_block(clock)
            seal.disable()
            check_block(proposed)
        node.chain.close()
    return admit, seal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="ecdsa", choices=["ecdsa", "sm"])
    parser.add_argument("--workload", default="erc20", choices=["eth", "erc20"])
    parser.add_argument("--txs", type=int, default=10_000)
    parser.add_argument("--block", type=int, default=5_000)
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument("--token-balance-slot", type=int, default=3)
    parser.add_argument("--top", type=int, default=25, help="functions shown per table")
    parser.add_argument(
        "--save", metavar="PREFIX", help="also write PREFIX-admit.pstats and PREFIX-seal.pstats"
    )
    args = parser.parse_args()
    admit, seal = profile(
        args.suite, args.workload, args.txs, args.block, args.accounts, args.token_balance_slot
    )
    for phase, profiler in (("admit", admit), ("seal", seal)):
        print(f"===== {phase}: {args.suite} {args.workload}, {args.txs} txs")
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
        if args.save:
            stats.dump_stats(f"{args.save}-{phase}.pstats")


if __name__ == "__main__":
    main()
