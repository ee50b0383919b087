// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Anchor — the chain as the newspaper for keyless-signature calendar publications.
/// @notice Each signer publishes (time, root) pairs: the hash-calendar root at a publication
/// time. A published root is immutable: the same pair may be sent again (idempotent), a
/// different root for the same signer and time is refused.
contract Anchor {
    /// publications[signer][time] = calendar root published for that time.
    mapping(address => mapping(uint64 => bytes32)) public publications;

    event Published(address indexed signer, uint64 indexed time, bytes32 root);

    error ZeroRoot();
    error AlreadyPublished(bytes32 existingRoot);

    function publish(uint64 time, bytes32 root) external {
        if (root == bytes32(0)) revert ZeroRoot();
        bytes32 existing = publications[msg.sender][time];
        if (existing == root) return;
        if (existing != bytes32(0)) revert AlreadyPublished(existing);
        publications[msg.sender][time] = root;
        emit Published(msg.sender, time, root);
    }

    /// True when `signer` published exactly `root` for `time`.
    function verify(address signer, uint64 time, bytes32 root) external view returns (bool) {
        return root != bytes32(0) && publications[signer][time] == root;
    }
}
