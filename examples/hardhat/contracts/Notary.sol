// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title Notary: records who first registered a document digest, and when.
/// @notice The example contract of BayChain's Hardhat project. It has one event to
///         watch, one revert with a reason string and one custom error, so its test
///         shows all three through Hardhat's ethers and chai matchers.
contract Notary {
    /// @notice A digest was notarized by `by` in block `atBlock`.
    event Notarized(bytes32 indexed digest, address indexed by, uint256 atBlock);

    /// @notice The all-zero digest cannot be notarized.
    error EmptyDigest();

    /// @notice Who notarized a digest (the zero address when nobody has).
    mapping(bytes32 => address) public notarizedBy;
    /// @notice The block a digest was notarized in.
    mapping(bytes32 => uint256) public notarizedAt;
    /// @notice How many digests have been notarized.
    uint256 public count;

    /// @notice Record `digest` as notarized by the caller in this block.
    function notarize(bytes32 digest) external {
        if (digest == bytes32(0)) revert EmptyDigest();
        require(notarizedBy[digest] == address(0), "Notary: already notarized");
        notarizedBy[digest] = msg.sender;
        notarizedAt[digest] = block.number;
        count += 1;
        emit Notarized(digest, msg.sender, block.number);
    }
}
