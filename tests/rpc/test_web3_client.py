"""web3.py against a real node process: the JSON-RPC as an unmodified Ethereum client uses it.

Everything here goes through web3.py's own machinery and nothing of BayChain's SDK:
keys come from the development mnemonic through eth_account's HD wallet (so the test
also proves ``init --dev-accounts`` funds the accounts Hardhat and Foundry use), web3.py
fills in chain id, nonce, gas (``eth_estimateGas``) and fees, eth_account signs, and the
raw bytes go through ``eth_sendRawTransaction``. Events are read back three ways: by
``eth_getLogs`` (``contract.events.Transfer.get_logs``), by polling filters
(``eth_newFilter`` / ``eth_getFilterChanges``) and by WebSocket subscriptions
(``eth_subscribe`` "newHeads" and "logs" through ``AsyncWeb3`` + ``WebSocketProvider``).
Reverts must surface as web3.py's ``ContractLogicError`` with the reason, which needs
the geth error shape: ``{"code": 3, "message": "execution reverted: <reason>",
"data": "0x<revert data>"}``.

One node serves the whole module (starting one costs seconds); each test deploys or
transacts what it reads, so the tests do not depend on each other's order.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

web3 = pytest.importorskip("web3", reason="web3.py is not installed: pip install -e '.[test]'")

from eth_abi import decode as abi_decode  # noqa: E402  (web3 installs eth_abi)
from eth_account import Account  # noqa: E402
from eth_account.signers.local import LocalAccount  # noqa: E402
from eth_utils import keccak, to_checksum_address  # noqa: E402
from node_process import RunningNode, running_node  # noqa: E402
from web3 import AsyncWeb3, Web3, WebSocketProvider  # noqa: E402
from web3.contract import Contract  # noqa: E402
from web3.exceptions import ContractCustomError, ContractLogicError  # noqa: E402
from web3.types import TxReceipt  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[2] / "src" / "baychain" / "artifacts"
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_BALANCE_WEI = 10**6 * 10**18
SUPPLY = 10**6 * 10**18
RECEIPT_TIMEOUT_S = 30
WS_MESSAGE_TIMEOUT_S = 15
TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
REFUSED_SELECTOR = keccak(text="Refused(address,uint256)")[:4]


def artifact(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ARTIFACTS / f"{name}.json").read_text())
    return loaded


def dev_account(index: int) -> LocalAccount:
    """The dev account ``m/44'/60'/0'/0/index``, derived by eth_account itself."""
    Account.enable_unaudited_hdwallet_features()
    account: LocalAccount = Account.from_mnemonic(
        DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}"
    )
    return account


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    with running_node(tmp_path_factory.mktemp("web3") / "chain", dev_accounts=3) as running:
        yield running


@pytest.fixture(scope="module")
def w3(node: RunningNode) -> Web3:
    client = Web3(Web3.HTTPProvider(node.http_url, request_kwargs={"timeout": 30}))
    assert client.is_connected(), node.log_tail()
    return client


def send(w3: Web3, account: LocalAccount, tx: dict[str, Any]) -> TxReceipt:
    """Sign ``tx`` (web3.py has filled the rest) with eth_account and wait for its receipt."""
    tx.setdefault("nonce", w3.eth.get_transaction_count(account.address, "pending"))
    signed = account.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    assert tx_hash == signed.hash
    return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_S, poll_latency=0.1)


def deploy(w3: Web3, account: LocalAccount, name: str, *args: Any) -> tuple[Contract, TxReceipt]:
    built = artifact(name)
    factory = w3.eth.contract(abi=built["abi"], bytecode=built["bytecode"])
    tx = factory.constructor(*args).build_transaction({"from": account.address})
    receipt = send(w3, account, dict(tx))
    assert receipt["status"] == 1, receipt
    address = receipt["contractAddress"]
    assert address is not None
    return w3.eth.contract(address=address, abi=built["abi"]), receipt


def call_tx(w3: Web3, account: LocalAccount, function: Any) -> TxReceipt:
    tx = function.build_transaction({"from": account.address})
    return send(w3, account, dict(tx))


@pytest.fixture(scope="module")
def token(w3: Web3) -> tuple[Contract, TxReceipt]:
    return deploy(w3, dev_account(0), "Token", "Bay Token", "BAY", SUPPLY)


@pytest.fixture(scope="module")
def probe(w3: Web3) -> Contract:
    contract, _ = deploy(w3, dev_account(0), "Probe", False)
    return contract


# ---- the chain as web3.py sees it -----------------------------------------------


def test_chain_id_and_mnemonic_accounts_are_the_hardhat_ones(w3: Web3, node: RunningNode) -> None:
    assert w3.eth.chain_id == node.chain_id
    assert int(w3.net.version) == node.chain_id
    assert w3.client_version
    # account 2 only ever receives tokens here, so its balance is still the genesis one
    assert w3.eth.get_balance(dev_account(2).address) == DEV_BALANCE_WEI
    assert all(w3.eth.get_balance(dev_account(i).address) > 0 for i in range(2))
    # the next account of the mnemonic: the chain never funded it
    assert w3.eth.get_balance(dev_account(3).address) == 0


def test_latest_block_by_number_and_hash_with_a_zero_base_fee(w3: Web3) -> None:
    first = w3.eth.block_number
    latest = w3.eth.get_block("latest")
    assert latest["number"] >= first
    assert latest["baseFeePerGas"] == 0
    by_hash = w3.eth.get_block(latest["hash"])
    assert by_hash["number"] == latest["number"] and by_hash["parentHash"] == latest["parentHash"]


def test_fee_methods_answer_in_the_shapes_web3_expects(w3: Web3) -> None:
    assert w3.eth.gas_price >= 0
    assert w3.eth.max_priority_fee >= 0
    head = w3.eth.block_number
    blocks = min(4, head) or 1
    history = w3.eth.fee_history(blocks, "latest", [25, 75])
    assert history["oldestBlock"] == head - blocks + 1
    assert len(history["baseFeePerGas"]) == blocks + 1
    assert all(fee == 0 for fee in history["baseFeePerGas"])
    assert len(history["gasUsedRatio"]) == blocks
    assert len(history["reward"]) == blocks and all(len(r) == 2 for r in history["reward"])


# ---- deploy, transact, read back ----------------------------------------------


def test_deploy_token_and_read_it_with_eth_call(
    w3: Web3, token: tuple[Contract, TxReceipt]
) -> None:
    contract, receipt = token
    deployer = dev_account(0).address
    assert w3.eth.get_code(contract.address).to_0x_hex() == artifact("Token")["deployedBytecode"]
    assert contract.functions.name().call() == "Bay Token"
    assert contract.functions.symbol().call() == "BAY"
    assert contract.functions.decimals().call() == 18
    assert contract.functions.totalSupply().call() == SUPPLY
    assert contract.functions.balanceOf(deployer).call() == SUPPLY
    # the constructor's mint is in the receipt, decoded by the ABI
    (minted,) = contract.events.Transfer().process_receipt(receipt)
    assert minted["args"]["from"] == "0x" + "00" * 20
    assert minted["args"]["to"] == deployer and minted["args"]["value"] == SUPPLY
    deployment = w3.eth.get_transaction(receipt["transactionHash"])
    assert deployment["from"] == deployer and deployment["to"] is None
    assert deployment["blockNumber"] == receipt["blockNumber"]


def test_transfer_then_get_logs_by_event_arguments(
    w3: Web3, token: tuple[Contract, TxReceipt]
) -> None:
    contract, deployed = token
    sender, recipient = dev_account(0), dev_account(2)
    before = contract.functions.balanceOf(recipient.address).call()
    receipt = call_tx(w3, sender, contract.functions.transfer(recipient.address, 1234))
    assert receipt["status"] == 1
    assert contract.functions.balanceOf(recipient.address).call() == before + 1234

    (event,) = contract.events.Transfer().process_receipt(receipt)
    assert event["args"]["value"] == 1234

    found = contract.events.Transfer.get_logs(
        from_block=receipt["blockNumber"], to_block=receipt["blockNumber"],
        argument_filters={"to": recipient.address},
    )
    assert [(e["args"]["from"], e["args"]["value"]) for e in found] == [(sender.address, 1234)]
    assert found[0]["transactionHash"] == receipt["transactionHash"]
    assert found[0]["blockHash"] == receipt["blockHash"]

    # over the whole range: the mint and this transfer, in chain order
    everything = contract.events.Transfer.get_logs(from_block=deployed["blockNumber"])
    assert everything[0]["args"]["value"] == SUPPLY
    assert receipt["transactionHash"] in [e["transactionHash"] for e in everything]

    # by block hash, and a topic nobody emitted
    by_hash = w3.eth.get_logs({"blockHash": receipt["blockHash"], "address": contract.address})
    assert [log["transactionHash"] for log in by_hash] == [receipt["transactionHash"]]
    nobody = "0x" + "00" * 12 + "ab" * 20
    assert w3.eth.get_logs({
        "fromBlock": deployed["blockNumber"], "address": contract.address,
        "topics": [TRANSFER_TOPIC, None, nobody],
    }) == []


def test_polling_filters_see_new_events_and_blocks(
    w3: Web3, token: tuple[Contract, TxReceipt]
) -> None:
    contract, _ = token
    events = contract.events.Transfer.create_filter(from_block=w3.eth.block_number + 1)
    blocks = w3.eth.filter("latest")
    receipt = call_tx(w3, dev_account(0), contract.functions.transfer(dev_account(1).address, 7))
    new = events.get_new_entries()
    ours = [e for e in new if e["transactionHash"] == receipt["transactionHash"]]
    assert [(e["args"]["to"], e["args"]["value"]) for e in ours] == [(dev_account(1).address, 7)]
    assert events.get_new_entries() == []  # changes are consumed
    assert receipt["transactionHash"] in [e["transactionHash"] for e in events.get_all_entries()]
    assert receipt["blockHash"] in blocks.get_new_entries()
    assert w3.eth.uninstall_filter(events.filter_id) is True
    assert w3.eth.uninstall_filter(events.filter_id) is False


def test_every_ethereum_transaction_type_is_accepted(w3: Web3) -> None:
    sender, recipient = dev_account(1), to_checksum_address("0x" + "5a" * 20)
    chain_id = w3.eth.chain_id
    base = {"to": recipient, "value": 10, "gas": 21000, "chainId": chain_id}
    txs: list[dict[str, Any]] = [
        {**base, "gasPrice": 0},                                          # legacy, EIP-155
        {**base, "gasPrice": 0, "accessList": [], "type": 1},             # EIP-2930
        {**base, "maxFeePerGas": 0, "maxPriorityFeePerGas": 0, "type": 2},  # EIP-1559
    ]
    before = w3.eth.get_balance(recipient)
    for tx in txs:
        receipt = send(w3, sender, tx)
        assert receipt["status"] == 1 and receipt["type"] == tx.get("type", 0)
    assert w3.eth.get_balance(recipient) == before + 30


# ---- reverts ------------------------------------------------------------------


def test_eth_call_revert_reason_is_a_contract_logic_error(w3: Web3, probe: Contract) -> None:
    with pytest.raises(ContractLogicError) as raised:
        probe.functions.failWithReason().call()
    assert "Probe: refused with a reason" in str(raised.value)

    with pytest.raises(ContractLogicError) as estimated:
        probe.functions.failWithReason().estimate_gas({"from": dev_account(0).address})
    assert "Probe: refused with a reason" in str(estimated.value)


def test_custom_error_data_reaches_web3(w3: Web3, probe: Contract) -> None:
    caller = dev_account(0).address
    with pytest.raises(ContractCustomError) as raised:
        probe.functions.failWithCustomError(7).call({"from": caller})
    data = raised.value.data
    assert isinstance(data, str)
    payload = bytes.fromhex(data.removeprefix("0x"))
    assert payload[:4] == REFUSED_SELECTOR
    assert abi_decode(["address", "uint256"], payload[4:]) == (caller.lower(), 7)


def test_a_reverting_transaction_is_mined_with_status_zero(w3: Web3, probe: Contract) -> None:
    account = dev_account(0)
    tx = probe.functions.failWithReason().build_transaction(
        {"from": account.address, "gas": 100_000, "maxFeePerGas": 0, "maxPriorityFeePerGas": 0}
    )
    receipt = send(w3, account, dict(tx))
    assert receipt["status"] == 0
    assert receipt["logs"] == []
    # state changes and events of a successful call afterwards still work
    ok = call_tx(w3, account, probe.functions.set(5, 55))
    assert ok["status"] == 1 and probe.functions.get(5).call() == 55
    (stored,) = probe.events.Stored().process_receipt(ok)
    assert stored["args"]["writer"] == account.address and stored["args"]["value"] == 55


# ---- WebSocket subscriptions --------------------------------------------------


async def watch_over_websocket(
    ws_url: str, http: Web3, contract: Contract
) -> tuple[Any, Any, TxReceipt]:
    """Subscribe to new heads and Transfer logs, transfer, return (head, log, receipt).

    The head is the first one above the height seen before subscribing; the log is
    the one of the transfer made after both subscriptions were acknowledged.
    """
    async with AsyncWeb3(WebSocketProvider(ws_url)) as w3:
        assert await w3.eth.chain_id == http.eth.chain_id
        start = await w3.eth.block_number
        heads = await w3.eth.subscribe("newHeads")
        logs = await w3.eth.subscribe(
            "logs", {"address": contract.address, "topics": [TRANSFER_TOPIC]}
        )
        # web3.py buffers notifications while the transfer is sent over HTTP
        receipt = await asyncio.to_thread(
            call_tx, http, dev_account(0), contract.functions.transfer(dev_account(1).address, 99)
        )
        seen: dict[str, Any] = {}

        async def collect() -> None:
            async for message in w3.socket.process_subscriptions():
                result = message["result"]
                if message["subscription"] == heads and result["number"] > start:
                    seen.setdefault("head", result)
                elif (message["subscription"] == logs
                      and result["transactionHash"] == receipt["transactionHash"]):
                    seen["log"] = result
                if len(seen) == 2:
                    return

        try:
            await asyncio.wait_for(collect(), WS_MESSAGE_TIMEOUT_S)
        except TimeoutError:
            pytest.fail(f"over the WebSocket, only {sorted(seen)} arrived of head and log")
        assert await w3.eth.unsubscribe(heads) is True
        assert await w3.eth.unsubscribe(logs) is True
        return seen["head"], seen["log"], receipt


def test_websocket_subscriptions_to_new_heads_and_logs(
    w3: Web3, node: RunningNode, token: tuple[Contract, TxReceipt]
) -> None:
    contract, _ = token
    head, log, receipt = asyncio.run(watch_over_websocket(node.ws_url, w3, contract))
    header = w3.eth.get_block(head["number"])
    assert head["hash"] == header["hash"] and head["parentHash"] == header["parentHash"]

    event = contract.events.Transfer().process_log(log)
    assert event["args"]["to"] == dev_account(1).address and event["args"]["value"] == 99
    assert log["transactionHash"] == receipt["transactionHash"]
    assert log["blockNumber"] == receipt["blockNumber"]
