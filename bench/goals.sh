#!/usr/bin/env bash
# Measure every goal of docs/benchmarks.md with `baychain bench`, one run each,
# into OUT/<run>/{results.jsonl,report.html}. Run it on an otherwise idle machine
# after the README's set-up; about 35 minutes here (2 cores), the 10-minute soak
# included. bench/RESULTS.md quotes what these runs printed.
#
#   bench/goals.sh [OUT]            default OUT: bench-results/goals-<UTC time>
#   ONLY="single bft4-sm" bench/goals.sh    just the named runs
set -euo pipefail
cd "$(dirname "$0")/.."

baychain=${BAYCHAIN:-.venv/bin/baychain}
[ -x "$baychain" ] || baychain="python3 -m baychain"
out=${1:-bench-results/goals-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"

# ERC-20 transfers from 1,000 development accounts in JSON-RPC batches of 250.
erc20=(--workload erc20-transfer --accounts 1000 --batch 250)

run() {
  local name=$1; shift
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then return; fi
  echo "== $name: baychain bench $*" | tee -a "$out/commands.txt"
  $baychain bench "$@" --out "$out/$name" | tee "$out/$name.txt"
}

# The default run, all three targets: 2,000 ETH transfers from 100 accounts.
run default --compare hardhat,ganache
# Single node vs Hardhat's node at full load, closed loop, 4 batches in flight. (Ganache is
# left out: at about 50 tx/s it takes 20 minutes for this load, and batches of 250 time it out.)
run single "${erc20[@]}" --txs 60000 --compare hardhat
# 4 BFT validators, offered 2,100 tx/s (open loop) spread over the 4 nodes.
run bft4-ecdsa "${erc20[@]}" --nodes 4 --mode open --rate 2100 --txs 30000 --batch 100
# 4 BFT validators on the SM suite (SM2 signatures, SM3 hashes).
run bft4-sm "${erc20[@]}" --nodes 4 --crypto sm --mode open --rate 900 --txs 15000 --batch 100
# Throughput against state size: 10k and 1M funded accounts (ETH + token balances in genesis).
run accounts "${erc20[@]}" --txs 30000 --funded-accounts 10000,1000000
# Throughput against node count.
run nodes "${erc20[@]}" --txs 20000 --nodes 1,4,7
# Memory over ten minutes at a steady 1,000 tx/s.
run soak "${erc20[@]}" --mode open --rate 1000 --duration-s 600 --batch 100
echo "results in $out"
