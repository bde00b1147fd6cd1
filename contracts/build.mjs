#!/usr/bin/env node
// Compile BayChain's own contracts (contracts/src/*.sol) into committed artifacts.
//
//   node contracts/build.mjs           write src/baychain/artifacts/<Contract>.json
//   node contracts/build.mjs --check   recompile and exit 1 if any committed artifact
//                                      differs, is missing, or has no source any more
//
// The compiler is the `solc` npm package pinned in package.json (a WebAssembly
// build, so every machine produces the same bytes). Settings are fixed below:
// a node never needs a compiler, and CI checks the artifacts still match the sources.
// The artifacts live inside the Python package (baychain.artifacts loads them), so
// an installed wheel carries them.
//
// One artifact per contract (a source may define several, e.g. Probe.sol holds
// Child too). Each artifact holds: contractName, sourceName, abi, bytecode
// (creation code, 0x hex), deployedBytecode (runtime code, 0x hex), the compiler
// version and settings, and sourceSha256 (of the source file's bytes).

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import solc from "solc";

const HERE = dirname(fileURLToPath(import.meta.url));
const SOURCE_DIR = join(HERE, "src");
const ARTIFACT_DIR = join(HERE, "..", "src", "baychain", "artifacts");
/** ARTIFACT_DIR as messages name it (relative to the repository root). */
const SHOWN_DIR = "src/baychain/artifacts";

/** The solc version every artifact must be built with (the one package.json pins). */
const EXPECTED_SOLC = "0.8.28";

/** Compiler settings; changing any of them changes every artifact. */
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  outputSelection: {
    "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] },
  },
};

/**
 * The EVM version each source targets. Application contracts target Shanghai so the
 * same bytecode also runs on the EVMs users compare BayChain with (Ganache 7.9 has no
 * Cancun: solc's Cancun output uses MCOPY); Probe.sol exercises Cancun opcodes
 * (TSTORE/TLOAD) on purpose. A source not listed targets DEFAULT_EVM_VERSION.
 */
const DEFAULT_EVM_VERSION = "shanghai";
const EVM_VERSION_OF = { "Probe.sol": "cancun" };

function evmVersionOf(sourceKey) {
  return EVM_VERSION_OF[sourceKey.slice("src/".length)] ?? DEFAULT_EVM_VERSION;
}

function sha256Hex(bytes) {
  return createHash("sha256").update(bytes).digest("hex");
}

function readSources() {
  const names = readdirSync(SOURCE_DIR).filter((n) => n.endsWith(".sol")).sort();
  const sources = {};
  const digests = {};
  for (const name of names) {
    const bytes = readFileSync(join(SOURCE_DIR, name));
    const key = `src/${name}`;
    sources[key] = { content: bytes.toString("utf8") };
    digests[key] = sha256Hex(bytes);
  }
  return { sources, digests };
}

function compile() {
  const version = solc.version();
  if (!version.startsWith(`${EXPECTED_SOLC}+`)) {
    throw new Error(
      `solc ${version} is installed but the artifacts are built with ${EXPECTED_SOLC}; ` +
        "run `npm ci --prefix contracts`",
    );
  }
  const { sources, digests } = readSources();
  const groups = new Map();
  for (const [key, source] of Object.entries(sources)) {
    const evmVersion = evmVersionOf(key);
    if (!groups.has(evmVersion)) groups.set(evmVersion, {});
    groups.get(evmVersion)[key] = source;
  }
  const output = { contracts: {}, errors: [] };
  for (const [evmVersion, group] of groups) {
    const settings = { ...SETTINGS, evmVersion };
    const input = { language: "Solidity", sources: group, settings };
    const part = JSON.parse(solc.compile(JSON.stringify(input)));
    Object.assign(output.contracts, part.contracts ?? {});
    output.errors.push(...(part.errors ?? []));
  }
  const problems = output.errors;
  for (const p of problems) {
    if (p.severity !== "error") {
      // Warnings (e.g. SELFDESTRUCT's deprecation in Probe.sol) are expected; show them once.
      const where = p.sourceLocation ? `${p.sourceLocation.file}: ` : "";
      process.stderr.write(`${p.severity}: ${where}${p.message.split(". ")[0]}\n`);
    }
  }
  const errors = problems.filter((p) => p.severity === "error");
  if (errors.length > 0) {
    throw new Error(errors.map((e) => e.formattedMessage).join("\n"));
  }

  const artifacts = new Map();
  for (const sourceName of Object.keys(output.contracts).sort()) {
    const contracts = output.contracts[sourceName];
    for (const contractName of Object.keys(contracts).sort()) {
      if (artifacts.has(contractName)) {
        throw new Error(`two contracts are named ${contractName}; names must be unique`);
      }
      const c = contracts[contractName];
      const artifact = {
        contractName,
        sourceName,
        sourceSha256: digests[sourceName],
        compiler: { name: "solc", version, settings: { evmVersion: evmVersionOf(sourceName), optimizer: SETTINGS.optimizer } },
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
      };
      artifacts.set(contractName, `${JSON.stringify(artifact, null, 2)}\n`);
    }
  }
  return artifacts;
}

function committedArtifacts() {
  if (!existsSync(ARTIFACT_DIR)) return new Map();
  const found = new Map();
  for (const name of readdirSync(ARTIFACT_DIR).filter((n) => n.endsWith(".json")).sort()) {
    found.set(name.slice(0, -".json".length), readFileSync(join(ARTIFACT_DIR, name), "utf8"));
  }
  return found;
}

function check(fresh) {
  const committed = committedArtifacts();
  const problems = [];
  for (const [name, text] of fresh) {
    if (!committed.has(name)) problems.push(`${SHOWN_DIR}/${name}.json is missing`);
    else if (committed.get(name) !== text) problems.push(`${SHOWN_DIR}/${name}.json is out of date`);
  }
  for (const name of committed.keys()) {
    if (!fresh.has(name)) problems.push(`${SHOWN_DIR}/${name}.json has no contract in contracts/src/ any more`);
  }
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`${p}\n`);
    process.stderr.write(`run \`node contracts/build.mjs\` and commit ${SHOWN_DIR}/\n`);
    return 1;
  }
  process.stdout.write(`${fresh.size} artifacts match their sources\n`);
  return 0;
}

function write(fresh) {
  mkdirSync(ARTIFACT_DIR, { recursive: true });
  for (const [name, text] of fresh) {
    writeFileSync(join(ARTIFACT_DIR, `${name}.json`), text);
    process.stdout.write(`wrote ${SHOWN_DIR}/${name}.json\n`);
  }
  for (const name of committedArtifacts().keys()) {
    if (!fresh.has(name)) {
      process.stderr.write(`${SHOWN_DIR}/${name}.json has no contract in contracts/src/; delete it\n`);
    }
  }
  return 0;
}

function main(argv) {
  const args = argv.slice(2);
  const unknown = args.filter((a) => a !== "--check");
  if (unknown.length > 0) {
    process.stderr.write(`unknown argument ${unknown[0]}; usage: node build.mjs [--check]\n`);
    return 2;
  }
  let fresh;
  try {
    fresh = compile();
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  return args.includes("--check") ? check(fresh) : write(fresh);
}

process.exitCode = main(process.argv);
