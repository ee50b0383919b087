// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TrainingTask} from "../../contracts/TrainingTask.sol";
import {TaskFixture} from "./TaskFixture.sol";

/// The gas of every state-changing function with MAX_PARTICIPANTS (256) participants, at
/// its worst where the cost grows with them: the last join (with an allowlist proof of 8
/// levels, too), the seal that completes a round, a round closed excluding all 256 updates,
/// a report naming 256 contributors, the challenge that overturns a report. Each must stay
/// below half a 30M block. A call is measured with gasleft() around it, the contract's
/// storage cold as in a transaction of its own (vm.cool); the transaction's gas adds 21000
/// and the calldata (16 per non-zero byte, 4 per zero byte). `forge test -vv --match-contract
/// Gas` prints the table (execution gas; "tx" lines add the intrinsic gas).
contract TrainingTaskGasTest is TaskFixture {
    uint256 internal constant N = 256;
    uint256 internal constant LIMIT = 15_000_000;
    uint256 internal constant BIG_REWARD = 512 ether;

    address[] internal everyone;

    /// The intrinsic gas of a transaction carrying `data` (Cancun).
    function _intrinsic(bytes memory data) internal pure returns (uint256 gas) {
        gas = 21_000;
        for (uint256 i = 0; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }

    /// Calls the contract as `from` with `value`, measures, logs and checks the gas.
    function _measure(string memory name, address from, uint256 value, bytes memory data)
        internal
        returns (uint256 gas)
    {
        vm.cool(address(task));
        vm.prank(from);
        uint256 before = gasleft();
        (bool ok, bytes memory reason) = address(task).call{value: value}(data);
        gas = before - gasleft();
        if (!ok) {
            assembly {
                revert(add(reason, 32), mload(reason))
            }
        }
        uint256 txGas = gas + _intrinsic(data);
        emit log_named_uint(name, gas);
        emit log_named_uint(string.concat(name, " (tx)"), txGas);
        assertLt(txGas, LIMIT, name);
    }

    function _sealData(uint256 id, uint256 round, address who) internal view returns (bytes memory) {
        bytes32 seal = task.updateSeal(who, id, round, _digest(id, round, who));
        return abi.encodeCall(TrainingTask.sealUpdate, (id, round, seal));
    }

    function _revealData(uint256 id, uint256 round, address who) internal pure returns (bytes memory) {
        return abi.encodeCall(TrainingTask.submitUpdate, (id, round, _digest(id, round, who), "bafyupdate"));
    }

    function _closeData(uint256 id, uint256 round, address[] memory excluded) internal pure returns (bytes memory) {
        return abi.encodeCall(
            TrainingTask.closeRound, (id, round, keccak256(abi.encode("record", id, round)), "bafyrecord", excluded)
        );
    }

    function test_gasAtParticipantCap() public {
        assertEq(task.MAX_PARTICIPANTS(), N, "the cap");
        for (uint256 i = 1; i <= N; ++i) {
            everyone.push(_p(i));
        }
        uint64 deadline = uint64(block.timestamp + LIFETIME);

        // createTask for 256 participants (floor × 256 within the reward).
        TrainingTask.Terms memory t = _terms();
        vm.deal(OWNER, 2 * BIG_REWARD);
        bytes memory create = abi.encodeCall(
            TrainingTask.createTask, (SPEC, "bafyspec", 2, uint16(N), uint16(N), deadline, AGGREGATOR, t)
        );
        _measure("createTask", OWNER, BIG_REWARD, create);
        uint256 id = 1;

        // join: the 256th participant; and the 256th of an allowlist of 256 (8-level proof).
        for (uint256 i = 0; i < N - 1; ++i) {
            _join(id, everyone[i]);
        }
        address last = everyone[N - 1];
        vm.deal(last, STAKE);
        bytes32[] memory noProof = new bytes32[](0);
        _measure(
            "join (256th)",
            last,
            STAKE,
            abi.encodeCall(TrainingTask.join, (id, _manifest(last), "bafymanifest", noProof))
        );
        _measureAllowlistJoin(t, deadline);

        _measure("start", OWNER, 0, abi.encodeCall(TrainingTask.start, (id)));

        // Round 0: the 256th seal opens the reveals; every update is then excluded.
        for (uint256 i = 0; i < N - 1; ++i) {
            _seal(id, 0, everyone[i]);
        }
        _measure("sealUpdate (256th, opens reveals)", last, 0, _sealData(id, 0, last));
        assertTrue(task.revealing(id), "all sealed");
        for (uint256 i = 0; i < N - 1; ++i) {
            _reveal(id, 0, everyone[i]);
        }
        _measure("submitUpdate (256th)", last, 0, _revealData(id, 0, last));
        _measure(
            "postAggregate",
            AGGREGATOR,
            0,
            abi.encodeCall(TrainingTask.postAggregate, (id, 0, keccak256("aggregate"), "bafyaggregate"))
        );
        _measure("closeRound (excluding 256)", OWNER, 0, _closeData(id, 0, everyone));
        (uint256 contributors,) = _contributors(id);
        assertEq(contributors, 0, "all excluded");

        // Round 1: all accepted, so 256 contributors.
        for (uint256 i = 0; i < N; ++i) {
            _seal(id, 1, everyone[i]);
        }
        for (uint256 i = 0; i < N; ++i) {
            _reveal(id, 1, everyone[i]);
        }
        uint256 training = vm.snapshotState(); // the last round still open

        _measure("closeRound (excluding none)", OWNER, 0, _closeData(id, 1, _none()));
        (contributors,) = _contributors(id);
        assertEq(contributors, N, "256 contributors");
        uint256 finished = vm.snapshotState();

        // The report: 256 contributors, ascending, the pool split evenly.
        uint256[] memory amounts = new uint256[](N);
        for (uint256 i = 0; i < N; ++i) {
            amounts[i] = BIG_REWARD / N;
        }
        amounts[0] += BIG_REWARD - (BIG_REWARD / N) * N;
        _measure(
            "reportContributions (256)",
            OWNER,
            0,
            abi.encodeCall(TrainingTask.reportContributions, (id, keccak256("report"), "bafyreport", everyone, amounts))
        );
        uint256 reported = vm.snapshotState();

        // Challenges: 128 of 256 leave the report; the 129th replaces it.
        _measure("challenge (1st)", everyone[0], 0, abi.encodeCall(TrainingTask.challenge, (id)));
        for (uint256 i = 1; i < N / 2; ++i) {
            vm.prank(everyone[i]);
            task.challenge(id);
        }
        assertTrue(_state(id) == TrainingTask.State.Reported, "half is not a majority");
        _measure("challenge (129th, overturns)", everyone[N / 2], 0, abi.encodeCall(TrainingTask.challenge, (id)));
        assertTrue(_state(id) == TrainingTask.State.Defaulted, "overturned");
        _measure("claim (after a challenge)", everyone[1], 0, abi.encodeCall(TrainingTask.claim, (id)));

        // Claims under the report.
        vm.revertToState(reported);
        vm.warp(block.timestamp + CHALLENGE_WINDOW);
        _measure("claim (reported)", everyone[N - 1], 0, abi.encodeCall(TrainingTask.claim, (id)));

        // No report: the default payout.
        vm.revertToState(finished);
        vm.warp(block.timestamp + REPORT_WINDOW);
        _measure("payoutDefault", STRANGER, 0, abi.encodeCall(TrainingTask.payoutDefault, (id)));
        _measure("claim (default)", everyone[N - 1], 0, abi.encodeCall(TrainingTask.claim, (id)));

        // The deadline passes in the last round: expiry, and claims under it.
        vm.revertToState(training);
        vm.warp(deadline);
        _measure("expire", STRANGER, 0, abi.encodeCall(TrainingTask.expire, (id)));
        _measure("claim (expired)", everyone[N - 1], 0, abi.encodeCall(TrainingTask.claim, (id)));
        _measure("claim (owner, expired)", OWNER, 0, abi.encodeCall(TrainingTask.claim, (id)));
    }

    function _measureAllowlistJoin(TrainingTask.Terms memory t, uint64 deadline) internal {
        bytes32[][] memory levels = _merkleLevels(everyone);
        t.allowlist = levels[levels.length - 1][0];
        vm.prank(OWNER);
        uint256 id = task.createTask{value: BIG_REWARD}(SPEC, "bafyspec", 1, uint16(N), 1, deadline, AGGREGATOR, t);
        for (uint256 i = 0; i < N - 1; ++i) {
            _join(id, everyone[i], _merkleProof(levels, i));
        }
        address last = everyone[N - 1];
        bytes32[] memory proof = _merkleProof(levels, N - 1);
        assertEq(proof.length, 8, "8 levels");
        vm.deal(last, STAKE);
        _measure(
            "join (256th, allowlist proof)",
            last,
            STAKE,
            abi.encodeCall(TrainingTask.join, (id, _manifest(last), "bafymanifest", proof))
        );
    }
}
