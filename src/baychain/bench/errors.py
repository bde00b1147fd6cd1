"""The bench's errors: one class, a :class:`~baychain.errors.BayChainError`.

::

    BayChainError
     └── BenchError    a target that cannot be installed, started or reached; a bad bench option

Its message says what went wrong and what to do next (a log's tail when a node would not
start); the command line prints it without a traceback.
"""

from __future__ import annotations

from baychain.errors import BayChainError

__all__ = ["BenchError"]


class BenchError(BayChainError):
    """The bench cannot go on: a peer install, a target start or an option failed."""
