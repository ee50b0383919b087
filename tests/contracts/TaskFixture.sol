// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TrainingTask} from "../../contracts/TrainingTask.sol";
import {TestBase} from "./TestBase.sol";

/// A deployed TrainingTask and the steps of its protocol, each taken by the party that takes
/// it (pranked): the owner creates, starts, closes rounds and reports; participants join,
/// seal, reveal, challenge and claim; the aggregator posts aggregates.
abstract contract TaskFixture is TestBase {
    TrainingTask internal task;

    address internal constant OWNER = address(0x0A11CE);
    address internal constant AGGREGATOR = address(0xA66);
    address internal constant STRANGER = address(0x5744);

    uint256 internal constant T0 = 1_700_000_000;
    uint256 internal constant REWARD = 10 ether;
    uint128 internal constant FLOOR = 1 ether;
    uint128 internal constant STAKE = 0.5 ether;
    uint32 internal constant COMMIT_WINDOW = 1 hours;
    uint32 internal constant REPORT_WINDOW = 1 days;
    uint32 internal constant CHALLENGE_WINDOW = 2 days;
    uint64 internal constant LIFETIME = 30 days;
    bytes32 internal constant SPEC = keccak256("spec");
    bytes32 internal constant RULE = keccak256("cairn.reward.shapley-floor.v1");

    function setUp() public virtual {
        vm.warp(T0);
        task = new TrainingTask();
        vm.label(address(task), "TrainingTask");
        vm.label(OWNER, "owner");
        vm.label(AGGREGATOR, "aggregator");
    }

    /// Participant i: plain accounts whose addresses ascend with i (reports list them in
    /// this order). 0x1000 upwards: clear of the precompiles and of forge's own addresses.
    function _p(uint256 i) internal pure returns (address) {
        return address(uint160(0x1000 + i));
    }

    function _terms() internal pure returns (TrainingTask.Terms memory) {
        return TrainingTask.Terms({
            rule: RULE,
            floor: FLOOR,
            stake: STAKE,
            allowlist: bytes32(0),
            commitWindow: COMMIT_WINDOW,
            reportWindow: REPORT_WINDOW,
            challengeWindow: CHALLENGE_WINDOW
        });
    }

    /// The owner escrows `reward` (dealt to it: its balance is 0 afterwards).
    function _create(TrainingTask.Terms memory taskTerms, uint8 rounds, uint16 maxP, uint16 minP, uint256 reward)
        internal
        returns (uint256 id)
    {
        uint64 deadline = uint64(block.timestamp + LIFETIME);
        vm.deal(OWNER, reward);
        vm.prank(OWNER);
        id = task.createTask{value: reward}(SPEC, "bafyspec", rounds, maxP, minP, deadline, AGGREGATOR, taskTerms);
    }

    function _create(uint8 rounds, uint16 maxP) internal returns (uint256) {
        return _create(_terms(), rounds, maxP, 1, REWARD);
    }

    function _manifest(address who) internal pure returns (bytes32) {
        return keccak256(abi.encode("manifest", who));
    }

    /// `who` joins paying the task's stake (dealt to it: its balance is 0 afterwards).
    function _join(uint256 id, address who, bytes32[] memory proof) internal {
        uint256 stake = task.getTaskTerms(id).stake;
        bytes32 manifest = _manifest(who);
        vm.deal(who, stake);
        vm.prank(who);
        task.join{value: stake}(id, manifest, "bafymanifest", proof);
    }

    function _join(uint256 id, address who) internal {
        _join(id, who, new bytes32[](0));
    }

    function _start(uint256 id) internal {
        vm.prank(OWNER);
        task.start(id);
    }

    /// What participant `who` trains in `round` (distinct per task, round and participant).
    function _digest(uint256 id, uint256 round, address who) internal pure returns (bytes32) {
        return keccak256(abi.encode("update", id, round, who));
    }

    function _seal(uint256 id, uint256 round, address who) internal {
        bytes32 seal = task.updateSeal(who, id, round, _digest(id, round, who));
        vm.prank(who);
        task.sealUpdate(id, round, seal);
    }

    function _reveal(uint256 id, uint256 round, address who) internal {
        bytes32 digest = _digest(id, round, who);
        vm.prank(who);
        task.submitUpdate(id, round, digest, "bafyupdate");
    }

    function _aggregate(uint256 id, uint256 round) internal {
        vm.prank(AGGREGATOR);
        task.postAggregate(id, round, keccak256(abi.encode("aggregate", id, round)), "bafyaggregate");
    }

    /// When some seal of the round is still unrevealed, lets the second commit window pass
    /// (before it, closeRound refuses: RevealsPending).
    function _letRevealsLapse(uint256 id) internal {
        (,, uint256 sealedCount, uint256 revealedCount, uint256 openedAt,,,) = task.getTaskProgress(id);
        if (revealedCount != sealedCount && block.timestamp < openedAt + 2 * uint256(COMMIT_WINDOW)) {
            vm.warp(openedAt + 2 * uint256(COMMIT_WINDOW));
        }
    }

    function _close(uint256 id, uint256 round, address[] memory excluded) internal {
        vm.prank(OWNER);
        task.closeRound(id, round, keccak256(abi.encode("record", id, round)), "bafyrecord", excluded);
    }

    /// A whole round: `sealers` seal; if not all participants did, the commit window passes;
    /// the sealers reveal, the aggregate is posted, the owner closes excluding `excluded`.
    function _round(uint256 id, uint256 round, address[] memory sealers, address[] memory excluded) internal {
        for (uint256 i = 0; i < sealers.length; ++i) {
            _seal(id, round, sealers[i]);
        }
        if (!task.revealing(id)) vm.warp(block.timestamp + COMMIT_WINDOW);
        for (uint256 i = 0; i < sealers.length; ++i) {
            _reveal(id, round, sealers[i]);
        }
        _aggregate(id, round);
        _close(id, round, excluded);
    }

    function _report(uint256 id, address[] memory who, uint256[] memory amounts) internal {
        vm.prank(OWNER);
        task.reportContributions(id, keccak256(abi.encode("report", id)), "bafyreport", who, amounts);
    }

    function _claim(uint256 id, address who) internal returns (uint256 paid) {
        uint256 before = who.balance;
        vm.prank(who);
        task.claim(id);
        paid = who.balance - before;
    }

    function _accepted(uint256 id, address who) internal view returns (uint256 accepted) {
        (,,, accepted,) = task.participants(id, who);
    }

    function _state(uint256 id) internal view returns (TrainingTask.State state) {
        (,,,,,,,, state) = task.getTask(id);
    }

    function _contributors(uint256 id) internal view returns (uint256 contributors, uint256 acceptedTotal) {
        (contributors, acceptedTotal,,,,,,) = task.getTaskProgress(id);
    }

    /// The default payout's amount for `who`: floor + rest × accepted / acceptedTotal + stake.
    function _defaultAmount(uint256 id, address who) internal view returns (uint256) {
        TrainingTask.Terms memory t = task.getTaskTerms(id);
        (uint256 contributors, uint256 acceptedTotal) = _contributors(id);
        uint256 rest = task.pool(id) - uint256(t.floor) * contributors;
        return uint256(t.floor) + rest * _accepted(id, who) / acceptedTotal + t.stake;
    }

    // ---- small lists ----

    function _none() internal pure returns (address[] memory list) {
        list = new address[](0);
    }

    function _list(address a) internal pure returns (address[] memory list) {
        list = new address[](1);
        list[0] = a;
    }

    function _list(address a, address b) internal pure returns (address[] memory list) {
        list = new address[](2);
        (list[0], list[1]) = (a, b);
    }

    function _list(address a, address b, address c) internal pure returns (address[] memory list) {
        list = new address[](3);
        (list[0], list[1], list[2]) = (a, b, c);
    }

    function _list(address a, address b, address c, address d) internal pure returns (address[] memory list) {
        list = new address[](4);
        (list[0], list[1], list[2], list[3]) = (a, b, c, d);
    }

    function _amounts(uint256 a) internal pure returns (uint256[] memory list) {
        list = new uint256[](1);
        list[0] = a;
    }

    function _amounts(uint256 a, uint256 b) internal pure returns (uint256[] memory list) {
        list = new uint256[](2);
        (list[0], list[1]) = (a, b);
    }

    function _amounts(uint256 a, uint256 b, uint256 c) internal pure returns (uint256[] memory list) {
        list = new uint256[](3);
        (list[0], list[1], list[2]) = (a, b, c);
    }

    function _amounts(uint256 a, uint256 b, uint256 c, uint256 d) internal pure returns (uint256[] memory list) {
        list = new uint256[](4);
        (list[0], list[1], list[2], list[3]) = (a, b, c, d);
    }

    // ---- the allowlist's Merkle tree, by the contract's rules ----

    /// keccak256(keccak256(abi.encode(address))): the leaf of an admitted address.
    function _leaf(address who) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(who))));
    }

    /// A pair hashed in sorted order.
    function _pair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    /// The next level up: pairs hashed, an odd last node carried up as it is.
    function _level(bytes32[] memory nodes) private pure returns (bytes32[] memory up) {
        up = new bytes32[]((nodes.length + 1) / 2);
        for (uint256 i = 0; i < up.length; ++i) {
            up[i] = 2 * i + 1 < nodes.length ? _pair(nodes[2 * i], nodes[2 * i + 1]) : nodes[2 * i];
        }
    }

    /// Every level of the tree, leaves first, the root last.
    function _merkleLevels(address[] memory members) internal pure returns (bytes32[][] memory levels) {
        uint256 depth = 1;
        for (uint256 width = members.length; width > 1; width = (width + 1) / 2) {
            ++depth;
        }
        levels = new bytes32[][](depth);
        levels[0] = new bytes32[](members.length);
        for (uint256 i = 0; i < members.length; ++i) {
            levels[0][i] = _leaf(members[i]);
        }
        for (uint256 k = 1; k < depth; ++k) {
            levels[k] = _level(levels[k - 1]);
        }
    }

    function _merkleRoot(address[] memory members) internal pure returns (bytes32) {
        bytes32[][] memory levels = _merkleLevels(members);
        return levels[levels.length - 1][0];
    }

    /// The proof of leaf `index`: its sibling on each level where it has one.
    function _merkleProof(bytes32[][] memory levels, uint256 index) internal pure returns (bytes32[] memory proof) {
        proof = new bytes32[](levels.length - 1);
        uint256 length = 0;
        for (uint256 k = 0; k + 1 < levels.length; ++k) {
            uint256 sibling = index ^ 1;
            if (sibling < levels[k].length) proof[length++] = levels[k][sibling];
            index /= 2;
        }
        assembly {
            mstore(proof, length)
        }
    }

    function _merkleProof(address[] memory members, uint256 index) internal pure returns (bytes32[] memory) {
        return _merkleProof(_merkleLevels(members), index);
    }
}
