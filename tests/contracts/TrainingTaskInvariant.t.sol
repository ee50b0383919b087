// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TrainingTask} from "../../contracts/TrainingTask.sol";
import {TestBase} from "./TestBase.sol";
import {Handler} from "./Handler.sol";

/// Invariants over random operation sequences (Handler): the contract never pays out more
/// than was escrowed, its balance is exactly what is escrowed and not yet paid, nobody is
/// paid twice for a task, and what remains due always fits in what remains escrowed.
contract TrainingTaskInvariantTest is TestBase {
    TrainingTask internal task;
    Handler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        task = new TrainingTask();
        handler = new Handler(task, 6);
    }

    /// forge's selector filter (as forge-std's StdInvariant declares it).
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    /// The fuzzer calls the handler only (forge reads these by name and ABI)...
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// ... and only these: progress along the protocol (steps), any single operation with
    /// arbitrary arguments (chaos), and time passing (warp).
    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory selectors = new bytes4[](3);
        selectors[0] = Handler.steps.selector;
        selectors[1] = Handler.chaos.selector;
        selectors[2] = Handler.warp.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector({addr: address(handler), selectors: selectors});
    }

    function invariant_paidWithinEscrow() public view {
        assertLe(handler.totalPaid(), handler.totalEscrowed(), "total paid <= total escrowed");
        uint256 n = handler.taskCount();
        for (uint256 i = 0; i < n; ++i) {
            uint256 id = handler.taskIds(i);
            assertLe(handler.paid(id), handler.escrowed(id), "paid <= escrowed, per task");
        }
    }

    function invariant_balanceIsEscrowLessPaid() public view {
        uint256 n = handler.taskCount();
        uint256 open = 0;
        for (uint256 i = 0; i < n; ++i) {
            uint256 id = handler.taskIds(i);
            assertLe(handler.paid(id), handler.escrowed(id), "paid <= escrowed, per task");
            open += handler.escrowed(id) - handler.paid(id);
        }
        assertEq(address(task).balance, open, "balance = sum over tasks of (escrowed - paid)");
    }

    function invariant_nobodyPaidTwice() public view {
        assertEq(handler.doublePayments(), 0, "a second payment for one task");
        assertEq(handler.dueAfterPayment(), 0, "still due right after being paid");
    }

    function invariant_dueFitsInEscrow() public view {
        uint256 n = handler.taskCount();
        for (uint256 i = 0; i < n; ++i) {
            uint256 id = handler.taskIds(i);
            assertLe(handler.paid(id) + handler.stillDue(id), handler.escrowed(id), "paid + due <= escrowed");
        }
    }

    /// A run whose calls all did nothing would check nothing.
    function afterInvariant() public view {
        assertGt(handler.calls(), 0, "the handler changed nothing");
    }

    /// The handler reaches every outcome (so the invariants above see them): a fixed
    /// pseudo-random walk over more tasks, checking the invariants every 10 steps.
    function test_handlerReachesEveryOutcome() public {
        handler = new Handler(task, 40);
        for (uint256 i = 1; i <= 1000; ++i) {
            uint256 seed = uint256(keccak256(abi.encode("walk", i)));
            if (seed % 20 == 0) handler.warp(seed >> 8);
            else if (seed % 20 == 1) handler.createTask(seed >> 8);
            else handler.step(seed >> 128, seed >> 8);
            if (i % 10 == 0) {
                invariant_paidWithinEscrow();
                invariant_balanceIsEscrowLessPaid();
                invariant_nobodyPaidTwice();
                invariant_dueFitsInEscrow();
            }
        }
        string[12] memory kinds = [
            "createTask",
            "join",
            "start",
            "seal",
            "reveal",
            "aggregate",
            "closeRound",
            "report",
            "challenge",
            "payoutDefault",
            "expire",
            "claim"
        ];
        for (uint256 k = 0; k < kinds.length; ++k) {
            uint256 count = handler.succeeded(bytes32(bytes(kinds[k])));
            emit log_named_uint(kinds[k], count);
            assertGt(count, 0, kinds[k]);
        }
        assertGt(handler.totalPaid(), 0, "something paid");
    }
}
