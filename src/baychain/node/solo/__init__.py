"""Solo consensus: one validator seals blocks on its own.

- :mod:`.driver`: :class:`~.driver.SoloDriver`, the asyncio driver that reads the clock,
  asks :class:`baychain.consensus.solo.SoloPolicy` whether a block is due, builds and
  commits it on a worker thread and hands it to ``Node.after_commit``.
"""

__all__ = ["driver"]
