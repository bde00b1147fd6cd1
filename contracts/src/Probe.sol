// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title Child: the contract Probe creates with CREATE and CREATE2.
/// @notice It records its seed and creator, accepts value at birth, and can
///         self-destruct on request so tests can watch EIP-6780 at work.
contract Child {
    uint256 public seed;
    address public parent;

    constructor(uint256 seed_) payable {
        seed = seed_;
        parent = msg.sender;
    }

    /// @notice SELFDESTRUCT to `beneficiary`. Under Cancun (EIP-6780) this only
    ///         moves the balance, unless the child was created in the same transaction.
    function destroy(address payable beneficiary) external {
        selfdestruct(beneficiary);
    }
}

/// @title Probe: one contract that exercises the EVM features BayChain must get right.
/// @notice Used by the differential test (our revm engine against py-evm) and by the
///         JSON-RPC and SDK tests. Every function touches one feature:
///         storage, indexed events, reverts (reason string and custom error), value,
///         SELFDESTRUCT (EIP-6780), CREATE / CREATE2 (EIP-1014), precompiles 0x01..0x05,
///         block context opcodes, and transient storage (EIP-1153).
contract Probe {
    /// @notice Emitted by `set`: two indexed topics besides the signature.
    event Stored(address indexed writer, uint256 indexed key, uint256 value);
    /// @notice Emitted by `deposit` and by a payable construction.
    event Deposited(address indexed from, uint256 amount);
    /// @notice Emitted when a child contract is created.
    event Spawned(address indexed child, bool indexed viaCreate2, uint256 seed);

    /// @notice The custom error `failWithCustomError` reverts with.
    error Refused(address caller, uint256 code);

    uint256 public counter;
    mapping(uint256 => uint256) public slots;
    uint256 transient scratch;

    /// @param destroyAtBirth when true, the constructor self-destructs: EIP-6780 then
    ///        deletes the account, since it is destroyed in the transaction that created it.
    constructor(bool destroyAtBirth) payable {
        if (msg.value > 0) {
            emit Deposited(msg.sender, msg.value);
        }
        if (destroyAtBirth) {
            selfdestruct(payable(msg.sender));
        }
    }

    // ---- storage and events ------------------------------------------------

    /// @notice Store `value` under `key`, count the write, and log it.
    function set(uint256 key, uint256 value) external {
        slots[key] = value;
        counter += 1;
        emit Stored(msg.sender, key, value);
    }

    /// @notice Read the value stored under `key` (0 when never set).
    function get(uint256 key) external view returns (uint256) {
        return slots[key];
    }

    /// @notice Zero the slot under `key` (earns an SSTORE refund, EIP-3529).
    function clear(uint256 key) external {
        delete slots[key];
    }

    // ---- reverts -----------------------------------------------------------

    /// @notice Always reverts with Error(string).
    function failWithReason() external pure {
        require(false, "Probe: refused with a reason");
    }

    /// @notice Always reverts with the custom error Refused(caller, code).
    function failWithCustomError(uint256 code) external view {
        revert Refused(msg.sender, code);
    }

    /// @notice Calls `failWithReason` on itself and catches the revert: the outer call
    ///         succeeds, the inner frame's effects and logs are rolled back.
    function tryFail(uint256 key) external returns (bool ok, string memory reason) {
        slots[key] = 1;
        try this.failWithReason() {
            ok = true;
        } catch Error(string memory why) {
            ok = false;
            reason = why;
        }
    }

    // ---- value -------------------------------------------------------------

    /// @notice Accept value, log it, and return this contract's new balance.
    function deposit() external payable returns (uint256) {
        emit Deposited(msg.sender, msg.value);
        return address(this).balance;
    }

    /// @notice Send `amount` wei from this contract to `to` (which may not exist yet).
    function sendValue(address payable to, uint256 amount) external {
        (bool ok, ) = to.call{value: amount}("");
        require(ok, "Probe: send failed");
    }

    // ---- SELFDESTRUCT (EIP-6780) --------------------------------------------

    /// @notice Self-destruct to the caller. Probe is never created in the same
    ///         transaction as this call, so under Cancun only the balance moves.
    function destroy() external {
        selfdestruct(payable(msg.sender));
    }

    /// @notice Create a child and destroy it in the same transaction: the child
    ///         account is deleted (EIP-6780) and its value goes to the caller.
    function spawnAndDestroy(uint256 seed) external payable returns (address) {
        Child child = new Child{value: msg.value}(seed);
        emit Spawned(address(child), false, seed);
        child.destroy(payable(msg.sender));
        return address(child);
    }

    /// @notice Ask an existing child to self-destruct to the caller.
    function destroyChild(Child child) external {
        child.destroy(payable(msg.sender));
    }

    // ---- CREATE / CREATE2 --------------------------------------------------

    /// @notice Create a child with CREATE, forwarding the value sent.
    function spawn(uint256 seed) external payable returns (address) {
        Child child = new Child{value: msg.value}(seed);
        emit Spawned(address(child), false, seed);
        return address(child);
    }

    /// @notice Create a child with CREATE2 (EIP-1014) under `salt`, forwarding the value sent.
    ///         Reverts when that address is already taken.
    function spawn2(bytes32 salt, uint256 seed) external payable returns (address) {
        Child child = new Child{salt: salt, value: msg.value}(seed);
        emit Spawned(address(child), true, seed);
        return address(child);
    }

    // ---- precompiles -------------------------------------------------------

    /// @notice ECRECOVER (precompile 0x01).
    function recover(bytes32 digest, uint8 v, bytes32 r, bytes32 s)
        external
        pure
        returns (address)
    {
        return ecrecover(digest, v, r, s);
    }

    /// @notice SHA2-256 (0x02), RIPEMD-160 (0x03) and IDENTITY (0x04) of `data`.
    function hashes(bytes calldata data)
        external
        view
        returns (bytes32 sha, bytes20 ripemd, bytes memory echoed)
    {
        sha = sha256(data);
        ripemd = ripemd160(data);
        (bool ok, bytes memory out) = address(0x04).staticcall(data);
        require(ok, "Probe: identity failed");
        echoed = out;
    }

    /// @notice MODEXP (precompile 0x05, EIP-198 with EIP-2565 pricing): base**exponent % modulus.
    function modexp(uint256 base, uint256 exponent, uint256 modulus)
        external
        view
        returns (uint256)
    {
        (bool ok, bytes memory out) = address(0x05).staticcall(
            abi.encodePacked(uint256(32), uint256(32), uint256(32), base, exponent, modulus)
        );
        require(ok, "Probe: modexp failed");
        return abi.decode(out, (uint256));
    }

    // ---- block context -----------------------------------------------------

    /// @notice The block context as the EVM sees it (NUMBER, TIMESTAMP, CHAINID,
    ///         COINBASE, BLOCKHASH of the parent, BASEFEE, PREVRANDAO, GASLIMIT).
    function blockInfo()
        external
        view
        returns (
            uint256 number,
            uint256 timestamp,
            uint256 chainId,
            address coinbase,
            bytes32 parentHash,
            uint256 baseFee,
            uint256 prevrandao,
            uint256 gasLimit
        )
    {
        number = block.number;
        timestamp = block.timestamp;
        chainId = block.chainid;
        coinbase = block.coinbase;
        parentHash = number > 0 ? blockhash(number - 1) : bytes32(0);
        baseFee = block.basefee;
        prevrandao = block.prevrandao;
        gasLimit = block.gaslimit;
    }

    /// @notice Same as `blockInfo` but writes the values to storage, so they show
    ///         up in the post-state too.
    function recordBlock() external {
        slots[0xb0] = block.number;
        slots[0xb1] = block.timestamp;
        slots[0xb2] = block.chainid;
        slots[0xb3] = uint256(uint160(address(block.coinbase)));
        slots[0xb4] = uint256(blockhash(block.number - 1));
        slots[0xb5] = block.prevrandao;
        slots[0xb6] = block.basefee;
    }

    // ---- transient storage (EIP-1153) -------------------------------------

    /// @notice TSTORE then TLOAD within one call; the value is gone by the next transaction.
    function transientRoundTrip(uint256 value) external returns (uint256 before, uint256 afterwards) {
        before = scratch;
        scratch = value;
        afterwards = scratch;
    }
}
