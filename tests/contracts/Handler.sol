// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TrainingTask} from "../../contracts/TrainingTask.sol";
import {TestBase} from "./TestBase.sol";

/// Drives one TrainingTask through random but bounded operations for the invariant tests:
/// a few tasks, four participants, an owner and an aggregator. Every operation is tried
/// and a revert is swallowed (the contract's rules decide what goes through). The fuzzer
/// calls `steps` (the next sensible steps of a task, so that runs get as far as reports,
/// challenges, default payouts, expiries and claims), `chaos` (any one operation with
/// arbitrary arguments) and `warp`. The ghost variables account every wei: what each task
/// escrowed (reward and stakes) and paid (measured at the payee's balance).
contract Handler is TestBase {
    TrainingTask public immutable task;

    address public constant OWNER = address(0x0A11CE);
    address public constant AGGREGATOR = address(0xA66);
    uint256 public constant ACTORS = 4;
    uint256 public immutable maxTasks;

    uint256[] public taskIds;
    mapping(uint256 => uint256) public escrowed;
    mapping(uint256 => uint256) public paid;
    /// payments[task][payee]: how many payments the payee received for the task
    mapping(uint256 => mapping(address => uint256)) public payments;
    uint256 public totalEscrowed;
    uint256 public totalPaid;
    uint256 public doublePayments; // a second payment to one payee for one task
    uint256 public dueAfterPayment; // claimable() still positive right after a payment

    /// Operations of the contract that went through, in all and by kind.
    uint256 public calls;
    mapping(bytes32 => uint256) public succeeded;

    constructor(TrainingTask taskContract, uint256 taskLimit) {
        task = taskContract;
        maxTasks = taskLimit;
    }

    function actor(uint256 i) public pure returns (address) {
        return address(uint160(0x1000 + 1 + i % ACTORS));
    }

    function taskCount() external view returns (uint256) {
        return taskIds.length;
    }

    // ---- operations (chaos and step call them) ----

    function createTask(uint256 seed) public {
        if (taskIds.length >= maxTasks) return;
        uint16 maxP = uint16(1 + (seed >> 8) % ACTORS);
        TrainingTask.Terms memory terms;
        uint256 reward = bound(seed >> 16, 0, 50 ether);
        terms.rule = keccak256("rule");
        terms.floor = uint128(bound(seed >> 80, 0, reward / maxP));
        terms.stake = uint128(bound(seed >> 144, 0, 3 ether));
        terms.commitWindow = uint32(bound(seed >> 208, 1, 100));
        terms.reportWindow = uint32(bound(seed >> 216, 0, 200));
        terms.challengeWindow = uint32(bound(seed >> 224, 0, 200));
        uint16 minP = uint16(1 + (seed >> 232) % maxP);
        uint8 rounds = uint8(1 + (seed >> 240) % 2);
        uint64 deadline = uint64(block.timestamp + bound(seed >> 244, 500, 5000));
        vm.deal(OWNER, OWNER.balance + reward);
        vm.prank(OWNER);
        try task.createTask{value: reward}(
            keccak256(abi.encode(seed)), "", rounds, maxP, minP, deadline, AGGREGATOR, terms
        ) returns (
            uint256 id
        ) {
            taskIds.push(id);
            escrowed[id] += reward;
            totalEscrowed += reward;
            _done("createTask");
        } catch {}
    }

    function join(uint256 taskSeed, uint256 who) public {
        uint256 id = _pick(taskSeed);
        if (id == 0) return;
        address p = actor(who);
        uint256 stake = task.getTaskTerms(id).stake;
        vm.deal(p, p.balance + stake);
        vm.prank(p);
        try task.join{value: stake}(id, keccak256(abi.encode(p)), "", new bytes32[](0)) {
            escrowed[id] += stake;
            totalEscrowed += stake;
            _done("join");
        } catch {}
    }

    function start(uint256 taskSeed) public {
        uint256 id = _pick(taskSeed);
        if (id == 0) return;
        vm.prank(OWNER);
        try task.start(id) {
            _done("start");
        } catch {}
    }

    function seal(uint256 taskSeed, uint256 who) public {
        uint256 id = _pick(taskSeed);
        if (id == 0) return;
        address p = actor(who);
        uint256 round = _round(id);
        bytes32 sealHash = task.updateSeal(p, id, round, _digest(id, round, p));
        vm.prank(p);
        try task.sealUpdate(id, round, sealHash) {
            _done("seal");
        } catch {}
    }

    function reveal(uint256 taskSeed, uint256 who) public {
        uint256 id = _pick(taskSeed);
        if (id == 0) return;
        address p = actor(who);
        uint256 round = _round(id);
        vm.prank(p);
        try task.submitUpdate(id, round, _digest(id, round, p), "") {
            _done("reveal");
        } catch {}
    }

    function aggregate(uint256 taskSeed) public {
        uint256 id = _pick(taskSeed);
        if (id == 0) return;
        uint256 round = _round(id);
        vm.prank(AGGREGATOR);
        try task.postAggregate(id, round, keccak256(abi.encode(id, round)), "") {
            _done("aggregate");
        } catch {}
    }

    /// Closes the current round, excluding the revealed updates whose bit is set in `mask`.
    function closeRound(uint256 taskSeed, uint256 mask) public {
        uint256 id = _pick(taskSeed);
        if (id == 0) return;
        uint256 round = _round(id);
        address[] memory excluded = new address[](ACTORS);
        uint256 n = 0;
        for (uint256 i = 0; i < ACTORS; ++i) {
            if ((mask >> i) & 1 == 1 && task.updateCommitments(id, round, actor(i)) != bytes32(0)) {
                excluded[n++] = actor(i);
            }
        }
        assembly {
            mstore(excluded, n)
        }
        vm.prank(OWNER);
        try task.closeRound(id, round, keccak256(abi.encode("record", id, round)), "", excluded) {
            _done("closeRound");
        } catch {}
    }

    /// A report by the rule: every contributor, ascending, the floor each and the rest split
    /// by weights drawn from `split`.
    function report(uint256 taskSeed, uint256 split) public {
        uint256 id = _pick(taskSeed);
        if (id == 0) return;
        (uint256 contributors,,,,,,,) = task.getTaskProgress(id);
        address[] memory who = new address[](contributors);
        uint256[] memory amounts = new uint256[](contributors);
        uint256[] memory weights = new uint256[](contributors);
        uint256 n = 0;
        uint256 weightTotal = 0;
        for (uint256 i = 0; i < ACTORS && n < contributors; ++i) {
            (,,, uint16 accepted,) = task.participants(id, actor(i));
            if (accepted == 0) continue;
            who[n] = actor(i);
            weights[n] = 1 + (split >> (8 * i)) % 100;
            weightTotal += weights[n];
            ++n;
        }
        if (n > 0) {
            uint256 floor = task.getTaskTerms(id).floor;
            uint256 rest = task.pool(id) - floor * n;
            uint256 given = 0;
            for (uint256 i = 0; i < n; ++i) {
                amounts[i] = floor + rest * weights[i] / weightTotal;
                given += amounts[i];
            }
            amounts[0] += floor * n + rest - given; // the rounding
        }
        vm.prank(OWNER);
        try task.reportContributions(id, keccak256(abi.encode("report", id)), "", who, amounts) {
            _done("report");
        } catch {}
    }

    function challenge(uint256 taskSeed, uint256 who) public {
        uint256 id = _pick(taskSeed);
        if (id == 0) return;
        vm.prank(actor(who));
        try task.challenge(id) {
            _done("challenge");
        } catch {}
    }

    function payoutDefault(uint256 taskSeed) public {
        uint256 id = _pick(taskSeed);
        if (id == 0) return;
        try task.payoutDefault(id) {
            _done("payoutDefault");
        } catch {}
    }

    function expire(uint256 taskSeed) public {
        uint256 id = _pick(taskSeed);
        if (id == 0) return;
        try task.expire(id) {
            _done("expire");
        } catch {}
    }

    /// `who` % 5: one of the participants, or (4) the owner.
    function claim(uint256 taskSeed, uint256 who) public {
        uint256 id = _pick(taskSeed);
        if (id == 0) return;
        address payee = who % (ACTORS + 1) == ACTORS ? OWNER : actor(who);
        uint256 before = payee.balance;
        vm.prank(payee);
        try task.claim(id) {
            uint256 amount = payee.balance - before;
            paid[id] += amount;
            totalPaid += amount;
            payments[id][payee] += 1;
            if (payments[id][payee] > 1) doublePayments += 1;
            if (task.claimable(id, payee) != 0) dueAfterPayment += 1;
            _done("claim");
        } catch {}
    }

    /// Time passes (not counted in `calls`: only operations of the contract are).
    function warp(uint256 seconds_) public {
        vm.warp(block.timestamp + bound(seconds_, 1, 300));
    }

    /// Any one operation, with arbitrary (bounded) arguments: most do nothing.
    function chaos(uint8 kind, uint256 taskSeed, uint256 who, uint256 seed) external {
        kind %= 12;
        if (kind == 0) return createTask(seed);
        if (kind == 1) return join(taskSeed, who);
        if (kind == 2) return start(taskSeed);
        if (kind == 3) return seal(taskSeed, who);
        if (kind == 4) return reveal(taskSeed, who);
        if (kind == 5) return aggregate(taskSeed);
        if (kind == 6) return closeRound(taskSeed, seed);
        if (kind == 7) return report(taskSeed, seed);
        if (kind == 8) return challenge(taskSeed, who);
        if (kind == 9) return payoutDefault(taskSeed);
        if (kind == 10) return expire(taskSeed);
        return claim(taskSeed, who);
    }

    /// One to four steps of a task along its protocol (next).
    function steps(uint256 taskSeed, uint256 seed) external {
        uint256 count = 1 + seed % 4;
        for (uint256 i = 0; i < count; ++i) {
            step(taskSeed, uint256(keccak256(abi.encode(seed, i))));
        }
    }

    /// The next step of a task along its protocol, with random choices on the way.
    function step(uint256 taskSeed, uint256 seed) public {
        uint256 id = _pick(taskSeed);
        if (id == 0) return createTask(seed);
        (,,, uint256 rounds, uint256 currentRound,,, uint256 deadline, TrainingTask.State state) = task.getTask(id);
        if (state != TrainingTask.State.Open) return _settle(id, seed);
        (,, bool started) = task.getTaskRoles(id);
        bool finished = started && currentRound == rounds;
        if (!finished && block.timestamp >= deadline) return expire(id);
        if (!started) return _enrol(id, seed);
        if (!finished) return _train(id, currentRound, seed);
        return _finish(id, seed);
    }

    function _enrol(uint256 id, uint256 seed) private {
        (,,,,, uint256 count, uint256 maxP,,) = task.getTask(id);
        (, uint256 minP,) = task.getTaskRoles(id);
        if (count < minP || (count < maxP && seed % 3 != 0)) {
            for (uint256 k = 0; k < ACTORS; ++k) {
                (bool joined,,,,) = task.participants(id, actor((seed >> 8) + k));
                if (!joined) return join(id, (seed >> 8) + k);
            }
        }
        return start(id);
    }

    function _train(uint256 id, uint256 round, uint256 seed) private {
        if (!task.revealing(id)) {
            // Mostly seal (the first joined participant from a random one on that has not),
            // sometimes let the commit window pass.
            if (seed % 6 == 0) return warp(task.getTaskTerms(id).commitWindow);
            for (uint256 k = 0; k < ACTORS; ++k) {
                address p = actor((seed >> 8) + k);
                (bool joined,,,,) = task.participants(id, p);
                if (joined && task.sealedUpdates(id, round, p) == bytes32(0)) return seal(id, (seed >> 8) + k);
            }
            return warp(task.getTaskTerms(id).commitWindow);
        }
        // Mostly reveal what is sealed; sometimes post the aggregate or close the round early.
        if (seed % 5 != 0) {
            for (uint256 k = 0; k < ACTORS; ++k) {
                address p = actor((seed >> 8) + k);
                if (
                    task.sealedUpdates(id, round, p) != bytes32(0) && task.updateCommitments(id, round, p) == bytes32(0)
                ) {
                    return reveal(id, (seed >> 8) + k);
                }
            }
        }
        if (seed % 8 == 1 && task.aggregateCommitments(id, round) == bytes32(0)) return aggregate(id);
        return closeRound(id, seed % 3 == 0 ? seed >> 16 : 0);
    }

    function _finish(uint256 id, uint256 seed) private {
        uint256 reportWindow = task.getTaskTerms(id).reportWindow;
        (,,,,, uint256 phaseAt,,) = task.getTaskProgress(id);
        if (block.timestamp >= phaseAt + reportWindow) return payoutDefault(id);
        if (seed % 4 == 0) return warp(reportWindow);
        return report(id, seed >> 16);
    }

    function _settle(uint256 id, uint256 seed) private {
        (,,,,,,,, TrainingTask.State state) = task.getTask(id);
        uint256 challengeWindow = task.getTaskTerms(id).challengeWindow;
        (,,,,, uint256 phaseAt,,) = task.getTaskProgress(id);
        if (state == TrainingTask.State.Reported && block.timestamp < phaseAt + challengeWindow) {
            if (seed % 2 == 0) return challenge(id, seed >> 8);
            return warp(challengeWindow);
        }
        return claim(id, seed >> 8);
    }

    // ---- views for the invariants ----

    /// What every party could still claim from task `id` now or later.
    function stillDue(uint256 id) external view returns (uint256 due) {
        for (uint256 i = 0; i < ACTORS; ++i) {
            due += task.claimable(id, actor(i));
        }
        due += task.claimable(id, OWNER);
    }

    // ---- helpers ----

    /// A task (0 when none exists yet): a seed that is a task's id that task (step passes
    /// ids on), otherwise even seeds the newest, odd ones any.
    function _pick(uint256 seed) private view returns (uint256) {
        uint256 n = taskIds.length;
        if (n == 0) return 0;
        if (seed != 0 && seed <= n && taskIds[seed - 1] == seed) return seed;
        return seed % 2 == 0 ? taskIds[n - 1] : taskIds[(seed >> 1) % n];
    }

    function _round(uint256 id) private view returns (uint256 round) {
        (,,,, round,,,,) = task.getTask(id);
    }

    function _digest(uint256 id, uint256 round, address p) private pure returns (bytes32) {
        return keccak256(abi.encode("update", id, round, p));
    }

    function _done(bytes32 kind) private {
        calls += 1;
        succeeded[kind] += 1;
    }
}
