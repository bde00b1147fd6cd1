// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title Evidence: anchor the digest of a document, once, with who sent it and when.
/// @notice A digest (e.g. the SHA-256 or SM3 hash of a file, computed off chain)
///         is anchored at most once: the first anchor records the submitter, the
///         block number, the block timestamp and a short metadata string, and every
///         later anchor of the same digest reverts with AlreadyAnchored. Records are
///         never changed or deleted. The document itself never touches the chain.
/// @dev A record exists exactly when its submitter is non-zero: a transaction is
///      always signed by a key, so no anchor can come from address(0).
contract Evidence {
    /// @notice A digest was anchored by `submitter` with `metadata`.
    event Anchored(bytes32 indexed digest, address indexed submitter, string metadata);

    /// @notice `digest` was anchored before; the first record stands.
    error AlreadyAnchored(bytes32 digest);
    /// @notice The zero digest is refused: it is what an unset bytes32 looks like.
    error ZeroDigest();
    /// @notice `metadata` is `length` bytes, more than `limit`.
    error MetadataTooLong(uint256 length, uint256 limit);
    /// @notice `digest` has no record.
    error NotAnchored(bytes32 digest);

    /// @notice Longest metadata `anchor` accepts, in bytes (of its UTF-8 encoding).
    uint256 public constant MAX_METADATA_BYTES = 1024;

    struct Record {
        address submitter;
        uint64 blockNumber;
        uint64 timestamp;
        string metadata;
    }

    /// @notice How many digests have been anchored.
    uint256 public anchoredCount;

    mapping(bytes32 => Record) private _records;

    /// @notice Anchor `digest` with `metadata` (e.g. a file name or a JSON document).
    /// @param digest the document's hash; non-zero and not anchored before
    /// @param metadata at most MAX_METADATA_BYTES bytes, stored as given
    function anchor(bytes32 digest, string calldata metadata) external {
        if (digest == bytes32(0)) revert ZeroDigest();
        uint256 length = bytes(metadata).length;
        if (length > MAX_METADATA_BYTES) revert MetadataTooLong(length, MAX_METADATA_BYTES);
        if (_records[digest].submitter != address(0)) revert AlreadyAnchored(digest);
        _records[digest] = Record(msg.sender, uint64(block.number), uint64(block.timestamp), metadata);
        anchoredCount += 1;
        emit Anchored(digest, msg.sender, metadata);
    }

    /// @notice Whether `digest` has been anchored.
    function isAnchored(bytes32 digest) external view returns (bool) {
        return _records[digest].submitter != address(0);
    }

    /// @notice The record of `digest`; reverts with NotAnchored if there is none.
    /// @return submitter who anchored it
    /// @return blockNumber the block that holds the anchoring transaction
    /// @return timestamp that block's timestamp, in seconds since the Unix epoch
    /// @return metadata the string given to `anchor`
    function recordOf(bytes32 digest)
        external
        view
        returns (address submitter, uint64 blockNumber, uint64 timestamp, string memory metadata)
    {
        Record storage record = _records[digest];
        if (record.submitter == address(0)) revert NotAnchored(digest);
        return (record.submitter, record.blockNumber, record.timestamp, record.metadata);
    }
}
