// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Registry — datasets, models, compute offers, device keys and node endpoints: who owns what.
/// @notice An entry is an owner, a kind, the digest of the thing (a dataset manifest, a
/// model, a compute offer, a device's public key) and its metadata CID. Storage keeps the
/// owner, kind and digest; the metadata CID travels in events only.
/// A digest is unique per (owner, kind), not globally: were it global, anyone who saw a
/// node's endpoint URL or a manifest's digest could register it first and lock its owner
/// out. Readers look an entry up by the owner they expect (`entryOf`).
contract Registry {
    enum Kind {
        Dataset,
        Model,
        ComputeOffer,
        DeviceKey,
        /// A node's gateway URL: digest = sha256(url), metadataCid = the URL itself. A
        /// party's gateway is its latest active Endpoint entry.
        Endpoint,
        /// A signing service's calendar certificate: digest = sha256(DER), metadataCid = the
        /// DER in hex. The owner is the account that anchors the calendar's publications, so
        /// one entry tells a verifier both what to pin.
        CalendarKey
    }

    struct Entry {
        address owner; // slot 0 (with kind and active)
        Kind kind;
        bool active;
        bytes32 digest; // slot 1
    }

    uint256 public nextEntryId = 1;
    mapping(uint256 => Entry) private entries;
    /// owner => kind => digest => entry id: each owner registers a digest once per kind.
    mapping(address => mapping(Kind => mapping(bytes32 => uint256))) private entryIds;

    event Registered(uint256 indexed entryId, address indexed owner, Kind indexed kind, bytes32 digest, string metadataCid);
    event Updated(uint256 indexed entryId, bytes32 digest, string metadataCid);
    event Transferred(uint256 indexed entryId, address indexed from, address indexed to);
    event Retired(uint256 indexed entryId);

    error UnknownEntry(uint256 entryId);
    error NotOwner(address caller);
    error ZeroDigest();
    /// The caller (or the new owner of a transfer) already holds an entry for this kind and digest.
    error AlreadyRegistered(uint256 entryId);
    error InvalidOwner();

    function register(Kind kind, bytes32 digest, string calldata metadataCid) external returns (uint256 entryId) {
        if (digest == bytes32(0)) revert ZeroDigest();
        uint256 existing = entryIds[msg.sender][kind][digest];
        if (existing != 0) revert AlreadyRegistered(existing);
        entryId = nextEntryId;
        unchecked {
            nextEntryId = entryId + 1;
        }
        entries[entryId] = Entry({owner: msg.sender, kind: kind, active: true, digest: digest});
        entryIds[msg.sender][kind][digest] = entryId;
        emit Registered(entryId, msg.sender, kind, digest, metadataCid);
    }

    /// A new version of the thing (new digest and metadata), same entry and owner.
    function update(uint256 entryId, bytes32 digest, string calldata metadataCid) external {
        Entry storage entry = _owned(entryId);
        if (digest == bytes32(0)) revert ZeroDigest();
        mapping(bytes32 => uint256) storage mine = entryIds[msg.sender][entry.kind];
        if (mine[digest] != 0) revert AlreadyRegistered(mine[digest]);
        delete mine[entry.digest];
        entry.digest = digest;
        mine[digest] = entryId;
        emit Updated(entryId, digest, metadataCid);
    }

    function transfer(uint256 entryId, address to) external {
        Entry storage entry = _owned(entryId);
        if (to == address(0)) revert InvalidOwner();
        uint256 held = entryIds[to][entry.kind][entry.digest];
        if (held != 0) revert AlreadyRegistered(held);
        delete entryIds[msg.sender][entry.kind][entry.digest];
        entryIds[to][entry.kind][entry.digest] = entryId;
        entry.owner = to;
        emit Transferred(entryId, msg.sender, to);
    }

    /// Withdraws an offer or revokes a device key; the entry stays readable, inactive.
    function retire(uint256 entryId) external {
        Entry storage entry = _owned(entryId);
        entry.active = false;
        emit Retired(entryId);
    }

    /// The entry `owner` registered for `kind` and `digest`, or 0 when there is none.
    function entryOf(address owner, Kind kind, bytes32 digest) external view returns (uint256) {
        return entryIds[owner][kind][digest];
    }

    function getEntry(uint256 entryId) external view returns (address owner, Kind kind, bool active, bytes32 digest) {
        Entry storage entry = entries[entryId];
        if (entry.owner == address(0)) revert UnknownEntry(entryId);
        return (entry.owner, entry.kind, entry.active, entry.digest);
    }

    function _owned(uint256 entryId) private view returns (Entry storage entry) {
        entry = entries[entryId];
        if (entry.owner == address(0)) revert UnknownEntry(entryId);
        if (entry.owner != msg.sender) revert NotOwner(msg.sender);
        if (!entry.active) revert UnknownEntry(entryId);
    }
}
