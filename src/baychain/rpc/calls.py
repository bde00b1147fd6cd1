"""``eth_call`` and ``eth_estimateGas``: a call object in, a simulation on the head state out.

Defaults, as geth fills them: ``from`` the zero address, ``gas`` the block gas
limit (a larger ``gas`` is lowered to it), ``nonce`` the sender's, ``value`` 0.
A call that names no fee runs with base fee 0 (so an unfunded ``from`` can call
view functions); one that names a fee pays it as a transaction would.
Execution is ``execution/simulate.py``: the EVM through the Rust engine, or the
Python code of a system contract. Nothing is committed.

Errors: a revert answers code 3 ``execution reverted[: reason]`` with the revert
data; a call that cannot run (insufficient funds, nonce, intrinsic gas) or halts
answers -32000 with the reason; ``eth_estimateGas`` answers
``gas required exceeds allowance (N)`` when even the cap runs out of gas.
Only the head state is kept, so the block parameter must name the head.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from baychain.errors import CallFailed
from baychain.execution.simulate import (
    CallOutcome,
    CallRequest,
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
from baychain.rpc.resolve import require_head_state
from baychain.rpc.workers import Workers

__all__ = ["CallApi"]


class CallApi:
    """``eth_call`` and ``eth_estimateGas`` over one node."""

    def __init__(self, node: Node, queries: ChainReads, workers: Workers) -> None:
        self.node = node
        self.queries = queries
        self.workers = workers

    def register(self, dispatcher: Dispatcher) -> None:
        """Register both handlers."""
        dispatcher.register("eth_call", self.eth_call)
        dispatcher.register("eth_estimateGas", self.eth_estimateGas)

    async def eth_call(
        self,
        call: Any,
        block: Any = "latest",
        state_overrides: Any = None,
        block_overrides: Any = None,
    ) -> str:
        fields = params.call_fields(call)
        require_head_state(self.queries, params.block_ref(block))
        _refuse_overrides(state_overrides, "state overrides")
        _refuse_overrides(block_overrides, "block overrides")
        outcome = await self.workers.run(self._simulate, fields)
        raise_for_failure(outcome)
        return data(outcome.output)

    async def eth_estimateGas(
        self, call: Any, block: Any = "latest", state_overrides: Any = None
    ) -> str:
        fields = params.call_fields(call)
        require_head_state(self.queries, params.block_ref(block))
        _refuse_overrides(state_overrides, "state overrides")
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
        gas = head.gas_limit if fields.gas is None else min(fields.gas, head.gas_limit)
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
        request, base_fee = self._request(fields)
        context = self._context(base_fee)
        with self.node.chain.state() as view:
            return simulate_call(view, context, request)

    def _estimate(self, fields: params.CallFields) -> int:
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
            return estimate_gas(view, context, request)

    def _context(self, base_fee: int) -> BlockContext:
        genesis = self.node.genesis
        return context_at(
            self.node.chain.head, genesis.chain_id, genesis.hardfork, base_fee=base_fee
        )


def _refuse_overrides(value: Any, what: str) -> None:
    if value is not None and value != {}:
        raise InvalidParams(f"{what} are not supported by this node")
