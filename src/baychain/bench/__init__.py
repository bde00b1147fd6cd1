"""``baychain bench``: measure a chain's committed throughput and latency; compare with peers.

The bench starts a target (a local BayChain network, a Hardhat or Ganache node that it
installs from npm into a folder it owns, or any external JSON-RPC endpoint), pre-signs a
workload, sends it open- or closed-loop, watches blocks commit, samples the node processes'
CPU and memory, and writes JSON lines plus a self-contained HTML report. Metrics follow the
Hyperledger Performance and Scale Working Group's white paper (committed transactions per
second; latency from submission to inclusion in a committed block).

Modules: ``target`` (what is measured), ``peers`` (the npm install of Hardhat and Ganache),
``resources`` (CPU and memory sampling), ``manifest`` (the machine), ``report`` (output),
``workloads``, ``loadgen``, ``metrics``, ``runner`` and ``command`` (the run itself).
"""
