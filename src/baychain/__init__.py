"""BayChain: an open consortium blockchain platform.

The package is laid out in three layers (see DESIGN.md): the protocol layer
(``crypto``, ``codec``, ``ledger``, ``state``, ``execution``, ``consensus``,
``network``, ``node``), the extension layer (``rpc``, ``sdk``, ...) and the
application layer (``apps``, ``console``, ``cli``). Imports point downwards only.
"""

__version__ = "0.1.0"
