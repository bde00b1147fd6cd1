"""``eth_subscribe`` / ``eth_unsubscribe``: notifications pushed over a WebSocket.

Kinds (geth's):

- ``newHeads``: each committed block's header (the block fields without
  ``transactions``, ``uncles`` and ``size``);
- ``logs`` with an optional ``{address, topics}`` filter: each matching log of
  each committed block, in order, ``removed`` always false (a BFT chain never
  reorganises);
- ``newPendingTransactions``: the hash of each transaction the pool accepts, or
  the whole transaction when the second parameter is ``true``.

Notifications are ``{"jsonrpc": "2.0", "method": "eth_subscription", "params":
{"subscription": id, "result": ...}}``. They are queued on the connection's
:class:`~baychain.rpc.session.Session`, never sent inline, so a slow client
delays nobody; one that falls too far behind is disconnected. A connection
holds at most ``max_subscriptions_per_connection``; they end with it.
Over HTTP, which cannot push, ``eth_subscribe`` answers -32601.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from baychain.ledger.transactions import Transaction
from baychain.node.chain import ProposedBlock
from baychain.node.reads import LogFilter, located_logs
from baychain.rpc import params
from baychain.rpc.filters import new_id
from baychain.rpc.formatting import data, format_header, format_log, format_transaction
from baychain.rpc.jsonrpc import (
    METHOD_NOT_FOUND,
    Dispatcher,
    InvalidParams,
    LimitExceeded,
    RpcError,
)
from baychain.rpc.session import Session

__all__ = ["KINDS", "Subscriptions"]

KINDS = ("newHeads", "logs", "newPendingTransactions")


@dataclass(frozen=True, slots=True)
class _Subscription:
    kind: str
    session: Session
    criteria: LogFilter | None = None
    full_transactions: bool = False


def notification(subscription_id: str, result_json: str) -> str:
    """The text of an ``eth_subscription`` message whose result is already JSON."""
    return (
        '{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"'
        + subscription_id
        + '","result":'
        + result_json
        + "}}"
    )


class Subscriptions:
    """The live subscriptions of every WebSocket connection, and the two methods."""

    def __init__(self, base_fee: int) -> None:
        self.base_fee = base_fee
        self._subscriptions: dict[str, _Subscription] = {}

    def register(self, dispatcher: Dispatcher) -> None:
        """Register ``eth_subscribe`` and ``eth_unsubscribe`` (each receives the session)."""
        dispatcher.register("eth_subscribe", self.eth_subscribe, with_session=True)
        dispatcher.register("eth_unsubscribe", self.eth_unsubscribe, with_session=True)

    def __len__(self) -> int:
        return len(self._subscriptions)

    async def eth_subscribe(self, session: Session | None, kind: Any, options: Any = None) -> str:
        if session is None or not session.can_push:
            raise RpcError(
                METHOD_NOT_FOUND,
                "notifications are not supported over HTTP: subscribe over a WebSocket",
            )
        if kind not in KINDS:
            raise InvalidParams(f"subscription must be one of {', '.join(KINDS)}, got {kind!r}")
        if len(session.subscriptions) >= session.max_subscriptions:
            raise LimitExceeded(
                f"too many subscriptions on this connection ({session.max_subscriptions}); "
                "unsubscribe some first"
            )
        subscription = _Subscription(kind, session)
        if kind == "logs" and options is not None:
            spec = params.filter_spec(options, "logs filter")
            if spec.block_hash is not None:
                raise InvalidParams("a logs subscription follows new blocks: drop blockHash")
            subscription = _Subscription(kind, session, criteria=spec.criteria)
        elif kind == "logs":
            subscription = _Subscription(kind, session, criteria=LogFilter())
        elif kind == "newPendingTransactions" and options is not None:
            full = params.boolean(options, "fullTransactions")
            subscription = _Subscription(kind, session, full_transactions=full)
        elif options is not None:
            raise InvalidParams(f"{kind} takes no options")
        subscription_id = new_id()
        self._subscriptions[subscription_id] = subscription
        session.subscriptions.add(subscription_id)
        return subscription_id

    async def eth_unsubscribe(self, session: Session | None, subscription_id: Any) -> bool:
        if not isinstance(subscription_id, str):
            raise InvalidParams("subscription id must be a hex string")
        found = self._subscriptions.get(subscription_id)
        if found is None or found.session is not session:
            return False
        del self._subscriptions[subscription_id]
        found.session.subscriptions.discard(subscription_id)
        return True

    def drop_session(self, session: Session) -> None:
        """End every subscription of a closed connection."""
        for subscription_id in list(session.subscriptions):
            self._subscriptions.pop(subscription_id, None)
        session.subscriptions.clear()

    # -- events ------------------------------------------------------------------

    def on_commit(self, proposed: ProposedBlock) -> None:
        """Notify ``newHeads`` and ``logs`` subscribers of a committed block."""
        if not self._subscriptions:
            return
        block, block_hash = proposed.block, proposed.block_hash
        logs = [log for receipt in proposed.receipts for log in receipt.logs]
        head_json: str | None = None
        entries = None
        for subscription_id, subscription in list(self._subscriptions.items()):
            if subscription.kind == "newHeads":
                if head_json is None:
                    head_json = json.dumps(format_header(block.header, block_hash, logs))
                subscription.session.send(notification(subscription_id, head_json))
            elif subscription.kind == "logs" and logs:
                if entries is None:
                    tx_hashes = [tx.hash for tx in block.transactions]
                    entries = located_logs(block.header, block_hash, tx_hashes, proposed.receipts)
                criteria = subscription.criteria or LogFilter()
                for entry in entries:
                    if criteria.matches(entry.log):
                        subscription.session.send(
                            notification(subscription_id, json.dumps(format_log(entry)))
                        )

    def on_pending(self, tx: Transaction) -> None:
        """Notify ``newPendingTransactions`` subscribers of a transaction the pool accepted."""
        if not self._subscriptions:
            return
        # encoded on first use: the pool admits thousands a second, often with no such subscriber
        hash_json: str | None = None
        full_json: str | None = None
        for subscription_id, subscription in list(self._subscriptions.items()):
            if subscription.kind != "newPendingTransactions":
                continue
            if subscription.full_transactions:
                if full_json is None:
                    full_json = json.dumps(format_transaction(tx, None, self.base_fee))
                subscription.session.send(notification(subscription_id, full_json))
            else:
                if hash_json is None:
                    hash_json = json.dumps(data(tx.hash))
                subscription.session.send(notification(subscription_id, hash_json))
