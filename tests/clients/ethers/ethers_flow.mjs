#!/usr/bin/env node
// ethers.js v6 against a running BayChain node (an ecdsa chain), the way a dapp uses it.
//
//   node ethers_flow.mjs <rpc-url> <ws-url> <private-key> [chain-id]
//
// Deploys src/baychain/artifacts/Token.json and Probe.json with a Wallet, transfers,
// waits for receipts, reads events back with queryFilter (eth_getLogs), with
// contract.on over HTTP (polling filters: eth_newFilter / eth_getFilterChanges) and
// over a WebSocketProvider (eth_subscribe "logs" and "newHeads"), and checks that
// reverts come back with their reason (Error(string)) or decoded custom error, from
// staticCall (eth_call) and from a transaction's gas estimate (eth_estimateGas).
//
// Prints one "ok: <step>" line per step; on the first failure prints
// "FAILED: <step>: <error>" and exits 1. The pytest wrapper is
// tests/rpc/test_ethers_client.py.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { ContractFactory, JsonRpcProvider, Wallet, WebSocketProvider, ethers } from "ethers";

const HERE = dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = join(HERE, "..", "..", "..", "src", "baychain", "artifacts");
const EVENT_TIMEOUT_MS = 15_000;
const SUPPLY = 10n ** 24n;

function artifact(name) {
  return JSON.parse(readFileSync(join(ARTIFACTS, `${name}.json`), "utf8"));
}

/** Resolve with what `subscribe(resolve)` delivers, or reject after EVENT_TIMEOUT_MS. */
function within(what, subscribe) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within ${EVENT_TIMEOUT_MS} ms`)), EVENT_TIMEOUT_MS);
    subscribe((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/**
 * A `contract.on("Transfer", ...)` listener that calls `done` with the first transfer of
 * `amount` (other transfers, e.g. ones already in the head block, are skipped).
 */
function transferOf(amount, done) {
  return (...args) => {
    const event = args.at(-1); // ContractEventPayload: decoded args and the raw log
    const [from, to, value] = event.args;
    if (value === amount) done({ from, to, value, hash: event.log.transactionHash });
  };
}

/** Run `action`, which must throw an ethers CALL_EXCEPTION; return the error. */
async function reverts(action) {
  try {
    await action();
  } catch (err) {
    assert.equal(err.code, "CALL_EXCEPTION", `expected CALL_EXCEPTION, got ${err.code}: ${err.message}`);
    return err;
  }
  throw new Error("the call did not revert");
}

/** One readable paragraph for an error: ethers' short message and the node's JSON-RPC error. */
function describe(err) {
  if (err?.code === undefined) return String(err?.stack ?? err);
  const rpcError = err.info?.error ?? err.error;
  const where = (err.stack ?? "").split("\n").find((line) => line.includes("ethers_flow.mjs")) ?? "";
  return `${err.code}: ${err.shortMessage ?? err.message}` +
    (rpcError ? `; node answered ${JSON.stringify(rpcError)}` : "") +
    (where ? `\n  ${where.trim()}` : "");
}

let step = "start";
const ok = (name) => process.stdout.write(`ok: ${name}\n`);

async function main([rpcUrl, wsUrl, privateKey, chainIdArg]) {
  if (!rpcUrl || !wsUrl || !privateKey) {
    process.stderr.write("usage: node ethers_flow.mjs <rpc-url> <ws-url> <private-key> [chain-id]\n");
    return 2;
  }
  const expectedChainId = BigInt(chainIdArg ?? "20261");
  // cacheTimeout -1: ethers otherwise answers a repeated request (the "pending" nonce) from a
  // 250 ms cache, which a fast chain outruns between two transactions.
  const provider = new JsonRpcProvider(rpcUrl, undefined, { pollingInterval: 250, cacheTimeout: -1 });
  let ws = null;
  try {
    step = "network";
    const network = await provider.getNetwork();
    assert.equal(network.chainId, expectedChainId);
    const wallet = new Wallet(privateKey, provider);
    const recipient = Wallet.createRandom().address;
    assert.ok((await provider.getBalance(wallet.address)) > 0n, "the dev account has no balance");
    ok(step);

    step = "deploy Token";
    const tokenArtifact = artifact("Token");
    const factory = new ContractFactory(tokenArtifact.abi, tokenArtifact.bytecode, wallet);
    const token = await factory.deploy("Bay Token", "BAY", SUPPLY);
    const deployReceipt = await token.deploymentTransaction().wait();
    assert.equal(deployReceipt.status, 1);
    await token.waitForDeployment();
    const tokenAddress = await token.getAddress();
    assert.equal(await provider.getCode(tokenAddress), tokenArtifact.deployedBytecode);
    assert.equal(await token.name(), "Bay Token");
    assert.equal(await token.totalSupply(), SUPPLY);
    assert.equal(await token.balanceOf(wallet.address), SUPPLY);
    ok(step);

    step = "transfer and wait";
    const tx = await token.transfer(recipient, 1234n);
    const receipt = await tx.wait();
    assert.equal(receipt.status, 1);
    assert.equal(await token.balanceOf(recipient), 1234n);
    const parsed = receipt.logs.map((log) => token.interface.parseLog(log)).filter(Boolean);
    assert.deepEqual(parsed.map((e) => [e.name, e.args.to, e.args.value]), [["Transfer", recipient, 1234n]]);
    const fetched = await provider.getTransaction(tx.hash);
    assert.equal(fetched.from, wallet.address);
    assert.equal(fetched.blockNumber, receipt.blockNumber);
    ok(step);

    step = "queryFilter (eth_getLogs)";
    const toRecipient = await token.queryFilter(token.filters.Transfer(null, recipient), deployReceipt.blockNumber);
    assert.equal(toRecipient.length, 1);
    assert.equal(toRecipient[0].args.from, wallet.address);
    assert.equal(toRecipient[0].args.value, 1234n);
    assert.equal(toRecipient[0].transactionHash, tx.hash);
    const all = await token.queryFilter("Transfer", deployReceipt.blockNumber, receipt.blockNumber);
    assert.equal(all[0].args.from, ethers.ZeroAddress); // the mint
    assert.equal(all.at(-1).transactionHash, tx.hash);
    ok(step);

    step = "contract.on over HTTP (polling filters)";
    const polled = within("Transfer event over HTTP", (done) =>
      token.on("Transfer", transferOf(5n, done)),
    );
    await new Promise((r) => setTimeout(r, 600)); // let ethers install its filter first
    const second = await token.transfer(recipient, 5n);
    const seen = await polled;
    await token.removeAllListeners();
    assert.deepEqual(seen, { from: wallet.address, to: recipient, value: 5n, hash: second.hash });
    await second.wait();
    ok(step);

    step = "WebSocketProvider subscriptions (newHeads, logs)";
    ws = new WebSocketProvider(wsUrl);
    assert.equal((await ws.getNetwork()).chainId, expectedChainId);
    const startHeight = await provider.getBlockNumber();
    const heads = within("new block over WebSocket", (done) =>
      ws.on("block", (height) => height > startHeight && done(height)),
    );
    const wsToken = token.connect(ws);
    const pushed = within("Transfer event over WebSocket", (done) =>
      wsToken.on("Transfer", transferOf(77n, done)),
    );
    await new Promise((r) => setTimeout(r, 300)); // the eth_subscribe round trips
    const third = await token.transfer(recipient, 77n);
    const [height, pushedEvent] = await Promise.all([heads, pushed]);
    await ws.removeAllListeners("block");
    await wsToken.removeAllListeners();
    assert.deepEqual(pushedEvent, { from: wallet.address, to: recipient, value: 77n, hash: third.hash });
    assert.ok((await provider.getBlock(height)) !== null, `block ${height} from newHeads is unknown`);
    ok(step);

    step = "deploy Probe";
    const probeArtifact = artifact("Probe");
    const probe = await new ContractFactory(probeArtifact.abi, probeArtifact.bytecode, wallet).deploy(false);
    await probe.waitForDeployment();
    await (await probe.set(5n, 55n)).wait();
    assert.equal(await probe.get(5n), 55n);
    ok(step);

    step = "staticCall revert reason";
    const withReason = await reverts(() => probe.failWithReason.staticCall());
    assert.equal(withReason.reason, "Probe: refused with a reason");
    assert.equal(withReason.revert?.name, "Error");
    ok(step);

    step = "staticCall custom error";
    const custom = await reverts(() => probe.failWithCustomError.staticCall(7n));
    assert.equal(custom.revert?.name, "Refused");
    assert.equal(custom.revert.args[0], wallet.address);
    assert.equal(custom.revert.args[1], 7n);
    ok(step);

    step = "transaction revert reason (eth_estimateGas)";
    const broke = new Wallet(Wallet.createRandom().privateKey, provider);
    const overdraft = await reverts(() => token.connect(broke).transfer.estimateGas(recipient, 1n));
    assert.equal(overdraft.reason, "Token: balance too low");
    const fromWallet = await reverts(() => token.transfer(ethers.ZeroAddress, 1n));
    assert.equal(fromWallet.reason, "Token: transfer to the zero address");
    ok(step);
    return 0;
  } catch (err) {
    process.stdout.write(`FAILED: ${step}: ${describe(err)}\n`);
    return 1;
  } finally {
    provider.destroy();
    if (ws !== null) await ws.destroy();
  }
}

// A socket failing outside an awaited call (e.g. the WebSocket handshake) still names its step.
process.on("uncaughtException", (err) => {
  process.stdout.write(`FAILED: ${step}: ${describe(err)}\n`);
  process.exit(1);
});

// Exit explicitly: a listener left behind by a failed step must not keep the process alive.
process.exit(await main(process.argv.slice(2)));
