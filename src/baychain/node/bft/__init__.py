"""BFT consensus for a chain of several validators, over the peer network.

- :mod:`.application`: :class:`~.application.BftApplication`, what the consensus engine
  asks of the node: build, validate (every refusal logged with its reason), commit,
  commit a synced block (its certificate first), serve decisions to peers.
- :mod:`.driver`: :class:`~.driver.BftDriver`, the asyncio driver that runs
  :class:`baychain.consensus.engine.Engine` over :mod:`baychain.network.transport`:
  timers, the signer state, the block worker, block sync and gossip.
- :mod:`.sync`: the block-sync messages (STATUS, BLOCK_REQUEST, BLOCK_RESPONSE) and the
  catch-up state.
- :mod:`.tx_gossip`: :class:`~.tx_gossip.GossipPipeline`, transactions in from peers and
  out to them.
"""

__all__ = ["application", "driver", "sync", "tx_gossip"]
