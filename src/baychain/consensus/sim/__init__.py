"""The deterministic consensus simulator.

It drives the real :class:`~baychain.consensus.engine.Engine` of several nodes with a
seeded scheduler, a simulated clock and a simulated network that delays, drops,
duplicates and reorders messages, partitions and heals, crashes and restarts nodes
(which recover from their persisted signer state and committed blocks) and runs one
Byzantine validator as two instances of the same key (Twins: Bano et al., "Twins:
BFT Systems Made Robust", 2021) that may also send conflicting messages of their own.
After every event it checks agreement, validity, certificates and honest
non-equivocation; after healing it checks liveness.

Run one seed, or many::

    PYTHONPATH=src python3 -m baychain.consensus.sim --seed 42 --trace
    PYTHONPATH=src python3 -m baychain.consensus.sim --seeds 100000 --jobs 2

Simplifications: the application is trivial (22-byte blocks, no execution cost but a
random delay), every node can reach every other (no gossip relays), and the clock
has millisecond resolution. The simulator is a test tool: it uses ``random`` freely,
but only the seeded stream it is given.
"""

from __future__ import annotations

from baychain.consensus.sim.runner import SimResult, Simulation, replay_command, run_seed
from baychain.consensus.sim.scenario import Scenario

__all__ = ["Scenario", "SimResult", "Simulation", "replay_command", "run_seed"]
