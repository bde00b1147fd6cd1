// Hardhat 2 configuration for a BayChain node (an ecdsa chain).
//
//   npx hardhat test                      on Hardhat's own in-process network
//   npx hardhat test --network baychain   against a running BayChain node
//
// The `baychain` network reads its URL from BAYCHAIN_RPC_URL (default
// http://127.0.0.1:8545) and its chain id from BAYCHAIN_CHAIN_ID (default 20261,
// what `baychain init` picks). Its accounts are the development mnemonic that
// `baychain init --dev-accounts N` funds: the same ones Hardhat and Foundry use.
//
// Offline compiler: Hardhat normally downloads solc from the Solidity project's
// server. Here it compiles with the WebAssembly solc of the `solc` npm package
// (pinned in package.json), so `npm ci` is all a machine needs.

require("@nomicfoundation/hardhat-ethers");
require("@nomicfoundation/hardhat-chai-matchers");

const { subtask } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");

/** The compiler version of contracts/ (and of the `solc` package in package.json). */
const SOLC_VERSION = "0.8.28";
const DEV_MNEMONIC = "test test test test test test test test test test test junk";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async ({ solcVersion }, _hre, runSuper) => {
  if (solcVersion !== SOLC_VERSION) {
    return runSuper();
  }
  const solc = require("solc");
  const longVersion = solc.version().replace(/\.Emscripten\.clang$/, "");
  if (!longVersion.startsWith(`${SOLC_VERSION}+`)) {
    throw new Error(`the solc package is ${longVersion}, not ${SOLC_VERSION}: run \`npm ci\``);
  }
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: solcVersion,
    longVersion,
  };
});

/** @type import('hardhat/config').HardhatUserConfig */
module.exports = {
  solidity: {
    version: SOLC_VERSION,
    settings: { evmVersion: "cancun", optimizer: { enabled: true, runs: 200 } },
  },
  networks: {
    baychain: {
      url: process.env.BAYCHAIN_RPC_URL ?? "http://127.0.0.1:8545",
      chainId: Number(process.env.BAYCHAIN_CHAIN_ID ?? 20261),
      accounts: { mnemonic: DEV_MNEMONIC, count: 5 },
      timeout: 60_000,
    },
  },
  mocha: { timeout: 60_000 },
};
