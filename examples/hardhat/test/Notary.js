// Deploys Notary and exercises it: a transaction and its event, an event query,
// a revert with a reason and a custom error. It passes on Hardhat's own network
// and on a BayChain node (`npx hardhat test --network baychain`) alike.

const { expect } = require("chai");
const { artifacts, ethers, network } = require("hardhat");

/** The first account of the development mnemonic (m/44'/60'/0'/0/0). */
const FIRST_DEV_ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
/** The selector of Solidity's Error(string), what `require(cond, "reason")` reverts with. */
const ERROR_STRING_SELECTOR = ethers.id("Error(string)").slice(0, 10);

describe(`Notary (network: ${network.name})`, function () {
  const digest = ethers.id("BayChain Hardhat example");
  let notary;
  let alice;
  let bob;

  before(async function () {
    [alice, bob] = await ethers.getSigners();
    notary = await ethers.deployContract("Notary");
    await notary.waitForDeployment();
  });

  it("signs with the development mnemonic accounts", async function () {
    expect(alice.address).to.equal(FIRST_DEV_ACCOUNT);
    expect(await ethers.provider.getBalance(bob.address)).to.be.greaterThan(0n);
    const { chainId } = await ethers.provider.getNetwork();
    expect(chainId).to.equal(BigInt(network.config.chainId ?? 31337));
  });

  it("deploys the compiled code", async function () {
    const code = await ethers.provider.getCode(await notary.getAddress());
    const artifact = await artifacts.readArtifact("Notary");
    expect(code).to.equal(artifact.deployedBytecode);
  });

  it("notarizes a digest and emits Notarized", async function () {
    const tx = await notary.connect(bob).notarize(digest);
    const receipt = await tx.wait();
    expect(receipt.status).to.equal(1);
    await expect(tx).to.emit(notary, "Notarized").withArgs(digest, bob.address, receipt.blockNumber);
    expect(await notary.notarizedBy(digest)).to.equal(bob.address);
    expect(await notary.notarizedAt(digest)).to.equal(BigInt(receipt.blockNumber));
    expect(await notary.count()).to.equal(1n);
  });

  it("finds the event again with queryFilter (eth_getLogs)", async function () {
    const events = await notary.queryFilter(notary.filters.Notarized(digest), 0);
    expect(events).to.have.length(1);
    expect(events[0].args.by).to.equal(bob.address);
    const none = await notary.queryFilter(notary.filters.Notarized(ethers.id("never")), 0);
    expect(none).to.have.length(0);
  });

  it("refuses a second notarization with its reason", async function () {
    await expect(notary.connect(alice).notarize(digest)).to.be.revertedWith("Notary: already notarized");
    // the same with plain try/catch on a static call (eth_call): the node's error
    // carries the revert data, Error(string) ABI-encoded
    let data;
    try {
      await notary.notarize.staticCall(digest);
    } catch (err) {
      data = err.data ?? err.info?.error?.data;
      if (data !== null && typeof data === "object") data = data.data; // Hardhat's node nests it
    }
    expect(data, "the static call did not revert with data").to.be.a("string");
    expect(ethers.dataSlice(data, 0, 4)).to.equal(ERROR_STRING_SELECTOR);
    const [reason] = ethers.AbiCoder.defaultAbiCoder().decode(["string"], ethers.dataSlice(data, 4));
    expect(reason).to.equal("Notary: already notarized");
  });

  it("refuses the empty digest with a custom error", async function () {
    await expect(notary.notarize(ethers.ZeroHash)).to.be.revertedWithCustomError(notary, "EmptyDigest");
    expect(await notary.count()).to.equal(1n);
  });
});
