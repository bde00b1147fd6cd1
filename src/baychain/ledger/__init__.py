"""The ledger's data: transactions, receipts, logs, headers, blocks and their Merkle roots.

- :mod:`.transactions`: the signed envelopes a chain accepts, decoded with their sender;
  :mod:`.signing` builds them; :mod:`.access_list` and :mod:`.intrinsic_gas` support them.
- :mod:`.log`, :mod:`.receipt`, :mod:`.bloom`: what executing a transaction produced.
- :mod:`.header`, :mod:`.block`: what consensus agrees on and the node stores.
- :mod:`.merkle`: the transactions and receipts roots and their inclusion proofs.

Every value here is a frozen dataclass with one canonical (RLP) encoding.
"""
