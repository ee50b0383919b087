// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TrainingTask} from "../../contracts/TrainingTask.sol";

/// A participant that is a contract: the test drives it through the protocol; subclasses
/// misbehave when paid.
contract ParticipantBot {
    TrainingTask internal immutable task;

    constructor(TrainingTask taskContract) {
        task = taskContract;
    }

    function join(uint256 id) external {
        uint256 stake = task.getTaskTerms(id).stake;
        task.join{value: stake}(id, keccak256(abi.encode("manifest", address(this))), "bafybot", new bytes32[](0));
    }

    function seal(uint256 id, uint256 round, bytes32 digest) external {
        task.sealUpdate(id, round, task.updateSeal(address(this), id, round, digest));
    }

    function reveal(uint256 id, uint256 round, bytes32 digest) external {
        task.submitUpdate(id, round, digest, "bafybotupdate");
    }

    function claim(uint256 id) external {
        task.claim(id);
    }

    receive() external payable virtual {}
}

/// Re-enters claim() from receive(). With `swallow` it catches the re-entry's revert (and
/// keeps its data), so the outer claim can succeed; otherwise the re-entry's revert fails the
/// payment, and with it the whole claim.
contract ReentrantClaimer is ParticipantBot {
    uint256 public target; // the task to re-enter; 0: accept payments quietly
    bool public swallow;
    uint256 public reentries;
    uint256 public received;
    bytes public reentryError;

    constructor(TrainingTask taskContract) ParticipantBot(taskContract) {}

    function arm(uint256 id, bool swallowRevert) external {
        target = id;
        swallow = swallowRevert;
    }

    receive() external payable override {
        received += msg.value;
        if (target == 0 || reentries >= 3) return;
        reentries += 1;
        if (swallow) {
            try task.claim(target) {}
            catch (bytes memory reason) {
                reentryError = reason;
            }
        } else {
            task.claim(target);
        }
    }
}

/// Refuses every payment.
contract RevertingReceiver is ParticipantBot {
    constructor(TrainingTask taskContract) ParticipantBot(taskContract) {}

    receive() external payable override {
        revert("no thanks");
    }
}

/// Answers a payment with as much data as its gas pays for (memory expansion): returned,
/// or as revert data. The caller that copies the data into its memory pays as much again,
/// with 1/64 of the gas left.
contract ReturnBomb is ParticipantBot {
    enum Mode {
        Quiet,
        Return,
        Revert
    }

    Mode public mode;

    constructor(TrainingTask taskContract) ParticipantBot(taskContract) {}

    function setMode(Mode newMode) external {
        mode = newMode;
    }

    receive() external payable override {
        Mode current = mode;
        if (current == Mode.Quiet) return;
        // Memory of w words costs 3w + w²/512: the largest w the gas left pays for.
        uint256 budget = gasleft();
        budget = budget > 20_000 ? budget - 20_000 : 0;
        uint256 words = _sqrt(512 * budget + 1536 * 1536 / 4) - 768;
        uint256 size = words * 32;
        if (current == Mode.Return) {
            assembly {
                return(0, size)
            }
        }
        assembly {
            revert(0, size)
        }
    }

    function _sqrt(uint256 x) private pure returns (uint256 y) {
        if (x == 0) return 0;
        y = x;
        uint256 z = (x + 1) / 2;
        while (z < y) {
            y = z;
            z = (x / z + z) / 2;
        }
    }
}
