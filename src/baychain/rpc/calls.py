"""``eth_call`` and ``eth_estimateGas``: a call object in, a simulation on the head state out.

Defaults, as geth fills them: ``from`` the zero address, ``gas`` the gas cap
(the lower of ``max_call_gas``, geth's RPCGasCap, and the block gas limit; a
larger ``gas`` is lowered to it), ``nonce`` the sender's, ``value`` 0.
A call that names no fee runs with base fee 0 (so an unfunded ``from`` can call
view functions); one that names a fee pays it as a transaction would.
Execution is ``execution/simulate.py``: the EVM through the Rust engine, or the
Python code of a system contract. Nothing is committed.

Errors: a revert answers code 3 ``execution reverted[: reason]`` with the revert
data; a call that cannot run (insufficient funds, nonce, intrinsic gas) or halts
answers -32000 with the reason; ``eth_estimateGas`` answers
``gas required exceeds allowance (N)`` when even the cap runs out of gas.
Only the head state is kept, so the block parameter must name the head.

Protection (``docs/json-rpc.md``, Limits): calls run on their own worker threads
and the EVM runs there without the GIL, so a long call does not stop the event
loop (other clients, block production); each call, and each estimation as a
whole, has a wall-clock budget (``max_call_time_ms``, -32000 ``execution
timeout: ...`` past it); and :class:`~baychain.rpc.workers.CallSlots` bounds the
calls running or waiting per client and node-wide (-32005 above).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import replace
from typing import Any

from baychain.errors import CallFailed
from baychain.execution.simulate import (
    CallOutcome,
    CallRequest,
    TimeBudget,
    context_at,
    estimate_gas,
    raise_for_failure,
    simulate_call,
)
from baychain.execution.transition import BlockContext
from baychain.node.node import Node
from baychain.node.reads import ChainReads
from baychain.primitives import ZERO_ADDRESS
from baychain.rpc import params
from baychain.rpc.formatting import data, quantity
from baychain.rpc.jsonrpc import Dispatcher, InvalidParams
from baychain.rpc.limits import RpcLimits
from baychain.rpc.resolve import require_head_state
from baychain.rpc.workers import CallSlots, Workers, current_client

__all__ = ["CallApi"]


class CallApi:
    """``eth_call`` and ``eth_estimateGas`` over one node.

    ``workers`` run the calls (threads of their own); ``slots`` admit them.
    """

    def __init__(
        self,
        node: Node,
        queries: ChainReads,
        workers: Workers,
        limits: RpcLimits | None = None,
        slots: CallSlots | None = None,
    ) -> None:
        self.node = node
        self.queries = queries
        self.workers = workers
        self.limits = limits = limits or RpcLimits()
        self.slots = slots or CallSlots(limits.max_calls, limits.max_calls_per_client)

    def register(self, dispatcher: Dispatcher) -> None:
        """Register both handlers (with the session, which stands for a client without one)."""
        dispatcher.register("eth_call", self.eth_call, with_session=True)
        dispatcher.register("eth_estimateGas", self.eth_estimateGas, with_session=True)

    async def eth_call(
        self,
        session: object,
        call: Any,
        block: Any = "latest",
        state_overrides: Any = None,
        block_overrides: Any = None,
    ) -> str:
        fields = params.call_fields(call)
        require_head_state(self.queries, params.block_ref(block))
        _refuse_overrides(state_overrides, "state overrides")
        _refuse_overrides(block_overrides, "block overrides")
        with self.slots.hold(_client(session)):
            outcome = await self.workers.run(self._simulate, fields)
        raise_for_failure(outcome)
        return data(outcome.output)

    async def eth_estimateGas(
        self, session: object, call: Any, block: Any = "latest", state_overrides: Any = None
    ) -> str:
        fields = params.call_fields(call)
        require_head_state(self.queries, params.block_ref(block))
        _refuse_overrides(state_overrides, "state overrides")
        with self.slots.hold(_client(session)):
            return quantity(await self.workers.run(self._estimate, fields))

    def _request(self, fields: params.CallFields) -> tuple[CallRequest, int]:
        """The call with defaults filled, and the base fee it runs with."""
        head = self.node.chain.head
        base_fee = head.base_fee_per_gas if fields.has_fees else 0
        if fields.gas_price is not None:
            max_fee = tip = fields.gas_price
        else:
            tip = fields.max_priority_fee_per_gas or 0
            max_fee = (
                fields.max_fee_per_gas if fields.max_fee_per_gas is not None else base_fee + tip
            )
        cap = min(head.gas_limit, self.limits.max_call_gas)
        gas = cap if fields.gas is None else min(fields.gas, cap)
        request = CallRequest(
            caller=fields.caller or ZERO_ADDRESS,
            to=fields.to,
            data=fields.input,
            value=fields.value,
            gas_limit=gas,
            max_fee_per_gas=max_fee,
            max_priority_fee_per_gas=tip,
            nonce=fields.nonce,
            access_list=fields.access_list,
        )
        return request, base_fee

    def _simulate(self, fields: params.CallFields) -> CallOutcome:
        budget = TimeBudget.start(self.limits.max_call_time_ms, "call")
        request, base_fee = self._request(fields)
        context = self._context(base_fee)
        with self.node.chain.state() as view:
            return simulate_call(view, context, request, budget=budget)

    def _estimate(self, fields: params.CallFields) -> int:
        budget = TimeBudget.start(self.limits.max_call_time_ms, "gas estimation")
        request, base_fee = self._request(fields)
        context = self._context(base_fee)
        with self.node.chain.state() as view:
            if request.max_fee_per_gas:
                # as geth: with a price, the sender's balance caps the gas it can buy
                balance = view.balance(request.caller)
                if balance < request.value:
                    raise CallFailed(
                        f"insufficient funds for transfer: balance {balance}, value {request.value}"
                    )
                allowance = (balance - request.value) // request.max_fee_per_gas
                if allowance < request.gas_limit:
                    request = replace(request, gas_limit=allowance)
            return estimate_gas(view, context, request, budget=budget)

    def _context(self, base_fee: int) -> BlockContext:
        genesis = self.node.genesis
        return context_at(
            self.node.chain.head, genesis.chain_id, genesis.hardfork, base_fee=base_fee
        )


def _client(session: object) -> Hashable:
    """Who is calling: the transport's client key, else the connection's session."""
    client = current_client.get()
    return client if client is not None else session


def _refuse_overrides(value: Any, what: str) -> None:
    if value is not None and value != {}:
        raise InvalidParams(f"{what} are not supported by this node")
