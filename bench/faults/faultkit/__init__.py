"""The fault-campaign harness shared by ``bench/faults/{crash,partition,byzantine}.py``.

Glossary
--------
- **network**: four ``baychain node`` processes started by ``baychain up --detach``
  on free loopback ports (:mod:`.localnet`). The harness kills and restarts them
  itself, with the launcher's own command line, and keeps ``network.json``'s pids
  current so ``baychain down --dir`` still stops everything.
- **load**: a background sender that offers transfers between the dev accounts at a
  fixed rate and records every hash a node accepted, plus an observer that notes
  when each one is first seen in a committed block (:mod:`.load`).
- **end checks**: every accepted transaction that committed has a receipt on every
  node (else it is *lost*), every node holds the same block hash at every height
  (else a *fork*) (:mod:`.checks`).
- **link proxy**: a TCP forwarder per ordered pair of nodes, which the harness can
  cut and heal (:mod:`.proxy`).
- **attacker**: a Byzantine validator process speaking the real peer protocol with
  a validator's own key and certificate (:mod:`.attacks`, run by
  ``bench/faults/attacker.py``).

Simplifications, honestly listed: everything runs on one machine over loopback, so
"partitions" are TCP-level cuts rather than dropped packets, and timings include
the harness's own CPU use on the same cores.
"""
