// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TrainingTask} from "../../contracts/TrainingTask.sol";
import {TaskFixture} from "./TaskFixture.sol";
import {ParticipantBot, ReentrantClaimer, ReturnBomb, RevertingReceiver} from "./Attackers.sol";

/// The v3 protocol end to end: the lifecycle, the seal/reveal rounds, the reward rule the
/// chain enforces against a dishonest owner, admission, and participants that attack the
/// payout. Every amount is checked to the wei (forge runs with a gas price of 0, so
/// balances move by the payments alone).
contract TrainingTaskTest is TaskFixture {
    address internal a = _p(1);
    address internal b = _p(2);
    address internal c = _p(3);
    address internal d = _p(4);

    // ---------------------------------------------------------------- 1. lifecycle

    function test_lifecycleHappyPath() public {
        uint256 id = _create(2, 5);
        assertEq(id, 1, "first task id");
        assertEq(OWNER.balance, 0, "owner escrowed everything");
        TrainingTask.Terms memory t = task.getTaskTerms(id);
        assertEq(t.rule, RULE, "rule");
        assertEq(t.floor, FLOOR, "floor");
        assertEq(t.stake, STAKE, "stake");
        assertEq(t.reportWindow, REPORT_WINDOW, "report window");

        address[4] memory all = [a, b, c, d];
        for (uint256 i = 0; i < 4; ++i) {
            _join(id, all[i]);
        }
        assertEq(address(task).balance, REWARD + 4 * STAKE, "reward and stakes escrowed");
        for (uint256 i = 0; i < 4; ++i) {
            assertEq(all[i].balance, 0, "stake paid");
        }
        _start(id);
        (,, bool started) = task.getTaskRoles(id);
        assertTrue(started, "started");

        // Round 0: the round reveals the moment the last participant seals.
        _seal(id, 0, a);
        _seal(id, 0, b);
        _seal(id, 0, c);
        assertTrue(!task.revealing(id), "3 of 4 sealed: still sealing");
        _seal(id, 0, d);
        assertTrue(task.revealing(id), "all sealed: revealing");
        for (uint256 i = 0; i < 4; ++i) {
            _reveal(id, 0, all[i]);
        }
        assertEq(task.updateCommitments(id, 0, c), _digest(id, 0, c), "revealed digest");
        _aggregate(id, 0);
        _close(id, 0, _list(c)); // the owner leaves c's update out
        assertTrue(task.excludedUpdates(id, 0, c), "c excluded in round 0");
        assertEq(task.roundRecords(id, 0), keccak256(abi.encode("record", id, uint256(0))), "round record");

        // Round 1: d never seals; the commit window opens the reveals without it.
        _seal(id, 1, a);
        _seal(id, 1, b);
        _seal(id, 1, c);
        assertTrue(!task.revealing(id), "d missing: still sealing");
        vm.warp(block.timestamp + COMMIT_WINDOW);
        assertTrue(task.revealing(id), "commit window over: revealing");
        _reveal(id, 1, a);
        _reveal(id, 1, b);
        _reveal(id, 1, c);
        _aggregate(id, 1);
        _close(id, 1, _list(c));

        // a 2 accepted, b 2, d 1, c none: c's stake is forfeited into the pool.
        assertEq(_accepted(id, a), 2, "a accepted");
        assertEq(_accepted(id, b), 2, "b accepted");
        assertEq(_accepted(id, c), 0, "c accepted");
        assertEq(_accepted(id, d), 1, "d accepted");
        (uint256 contributors, uint256 acceptedTotal) = _contributors(id);
        assertEq(contributors, 3, "contributors");
        assertEq(acceptedTotal, 5, "accepted total");
        assertEq(task.pool(id), REWARD + STAKE, "pool = reward + c's stake");

        // The report: ascending addresses, each at least the floor, summing to the pool.
        _report(id, _list(a, b, d), _amounts(4.5 ether, 4 ether, 2 ether));
        assertTrue(_state(id) == TrainingTask.State.Reported, "reported");
        assertEq(task.contributionReports(id), keccak256(abi.encode("report", id)), "report digest");
        assertEq(task.claimable(id, a), 5 ether, "a: reward + stake");

        // Claims open only after the challenge window.
        (,,,,, uint256 reportedAt,,) = task.getTaskProgress(id);
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.ClaimsNotOpen.selector, reportedAt + CHALLENGE_WINDOW));
        vm.prank(a);
        task.claim(id);
        vm.warp(reportedAt + CHALLENGE_WINDOW);

        assertEq(_claim(id, a), 5 ether, "a paid");
        assertEq(_claim(id, b), 4.5 ether, "b paid");
        assertEq(_claim(id, d), 2.5 ether, "d paid");
        vm.expectRevert(TrainingTask.NothingToClaim.selector);
        vm.prank(c);
        task.claim(id);
        vm.expectRevert(TrainingTask.NothingToClaim.selector);
        vm.prank(a);
        task.claim(id); // once only
        // The owner gets nothing back.
        assertEq(task.claimable(id, OWNER), 0, "owner credit");
        vm.expectRevert(TrainingTask.NothingToClaim.selector);
        vm.prank(OWNER);
        task.claim(id);

        assertEq(a.balance, 5 ether, "a balance");
        assertEq(b.balance, 4.5 ether, "b balance");
        assertEq(c.balance, 0, "c balance");
        assertEq(d.balance, 2.5 ether, "d balance");
        assertEq(OWNER.balance, 0, "owner balance");
        assertEq(address(task).balance, 0, "everything paid out");
    }

    // ---------------------------------------------------------------- 2. seal, then reveal

    function _threeStarted() internal returns (uint256 id) {
        id = _create(1, 3);
        _join(id, a);
        _join(id, b);
        _join(id, c);
        _start(id);
    }

    function test_copyAfterRevealCannotBeSealed() public {
        uint256 id = _threeStarted();
        _seal(id, 0, a);
        _seal(id, 0, c);
        vm.warp(block.timestamp + COMMIT_WINDOW); // b never sealed; reveals open
        _reveal(id, 0, a); // a's digest (and CID) are public now

        bytes32 copied = task.updateCommitments(id, 0, a);
        bytes32 seal = task.updateSeal(b, id, 0, copied);
        vm.expectRevert(TrainingTask.SealingClosed.selector);
        vm.prank(b);
        task.sealUpdate(id, 0, seal);
        vm.expectRevert(TrainingTask.SealMismatch.selector);
        vm.prank(b);
        task.submitUpdate(id, 0, copied, "bafyupdate");

        _reveal(id, 0, c);
        _close(id, 0, _none());
        assertEq(_accepted(id, b), 0, "the copier has nothing accepted");
        assertEq(_accepted(id, a), 1, "a accepted");
    }

    function test_copiedSealRevealsNothing() public {
        uint256 id = _threeStarted();
        bytes32 digestA = _digest(id, 0, a);
        bytes32 sealA = task.updateSeal(a, id, 0, digestA);
        _seal(id, 0, a);
        // b copies a's seal from the UpdateSealed event: the contract cannot tell ...
        vm.prank(b);
        task.sealUpdate(id, 0, sealA);
        // ... and a seal of the same digest by b (had b guessed it) names b, not a.
        bytes32 guessed = task.updateSeal(b, id, 0, digestA);
        assertTrue(guessed != sealA, "a seal names its sender");
        _seal(id, 0, c);
        assertTrue(task.revealing(id), "all sealed");

        _reveal(id, 0, a);
        // b reveals a's digest against a's seal: it is not b's.
        vm.expectRevert(TrainingTask.SealMismatch.selector);
        vm.prank(b);
        task.submitUpdate(id, 0, digestA, "bafyupdate");
        // Nor does any other digest of b's match a seal b cannot open.
        bytes32 own = _digest(id, 0, b);
        vm.expectRevert(TrainingTask.SealMismatch.selector);
        vm.prank(b);
        task.submitUpdate(id, 0, own, "bafyupdate");
        _reveal(id, 0, c);
        // b's seal stays unrevealed: the owner waits a second commit window before closing.
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.RevealsPending.selector, 1));
        _close(id, 0, _none());
        _letRevealsLapse(id);
        _close(id, 0, _none());
        assertEq(_accepted(id, b), 0, "b has nothing accepted");
        (uint256 contributors,) = _contributors(id);
        assertEq(contributors, 2, "a and c contribute");
    }

    function test_revealBeforeRevealingReverts() public {
        uint256 id = _threeStarted();
        _seal(id, 0, a);
        _seal(id, 0, b);
        assertTrue(!task.revealing(id), "c has not sealed");
        bytes32 digest = _digest(id, 0, a);
        vm.expectRevert(TrainingTask.NotRevealing.selector);
        vm.prank(a);
        task.submitUpdate(id, 0, digest, "bafyupdate");
        // Nor can the owner close a round still sealing.
        vm.expectRevert(TrainingTask.NotRevealing.selector);
        _close(id, 0, _none());
        // One second before the window ends: still sealing.
        vm.warp(block.timestamp + COMMIT_WINDOW - 1);
        vm.expectRevert(TrainingTask.NotRevealing.selector);
        vm.prank(a);
        task.submitUpdate(id, 0, digest, "bafyupdate");
    }

    function test_commitWindowOpensRevealsWithoutMissingSeal() public {
        uint256 id = _threeStarted();
        _seal(id, 0, a);
        _seal(id, 0, b);
        vm.warp(block.timestamp + COMMIT_WINDOW);
        assertTrue(task.revealing(id), "window over");
        (,, uint256 sealedCount,,,,,) = task.getTaskProgress(id);
        assertEq(sealedCount, 2, "two seals");
        _reveal(id, 0, a);
        _reveal(id, 0, b);
        // c is too late to seal, and has nothing to reveal.
        bytes32 sealC = task.updateSeal(c, id, 0, _digest(id, 0, c));
        vm.expectRevert(TrainingTask.SealingClosed.selector);
        vm.prank(c);
        task.sealUpdate(id, 0, sealC);
        vm.expectRevert(TrainingTask.SealMismatch.selector);
        _reveal(id, 0, c);
        _close(id, 0, _none());
        (uint256 contributors, uint256 acceptedTotal) = _contributors(id);
        assertEq(contributors, 2, "contributors");
        assertEq(acceptedTotal, 2, "accepted");
        // The next round opens with the window reset.
        assertTrue(!task.revealing(id), "task finished: no round reveals");
    }

    function test_roundRulesReject() public {
        uint256 id = _create(2, 3);
        _join(id, a);
        _join(id, b);
        bytes32 sealA = task.updateSeal(a, id, 0, _digest(id, 0, a));
        vm.expectRevert(TrainingTask.NotStarted.selector);
        vm.prank(a);
        task.sealUpdate(id, 0, sealA);
        _start(id);

        vm.expectRevert(abi.encodeWithSelector(TrainingTask.WrongRound.selector, 0));
        vm.prank(a);
        task.sealUpdate(id, 1, sealA);
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.NotParticipant.selector, c));
        vm.prank(c);
        task.sealUpdate(id, 0, sealA);
        vm.expectRevert(TrainingTask.ZeroCommitment.selector);
        vm.prank(a);
        task.sealUpdate(id, 0, bytes32(0));
        _seal(id, 0, a);
        vm.expectRevert(TrainingTask.AlreadyCommitted.selector);
        vm.prank(a);
        task.sealUpdate(id, 0, sealA);
        _seal(id, 0, b);

        // A digest other than the sealed one does not reveal.
        vm.expectRevert(TrainingTask.SealMismatch.selector);
        vm.prank(a);
        task.submitUpdate(id, 0, keccak256("another"), "bafyupdate");
        _reveal(id, 0, a);
        vm.expectRevert(TrainingTask.AlreadyCommitted.selector);
        _reveal(id, 0, a);

        vm.expectRevert(abi.encodeWithSelector(TrainingTask.NotAggregator.selector, a));
        vm.prank(a);
        task.postAggregate(id, 0, keccak256("aggregate"), "bafyaggregate");
        _aggregate(id, 0);
        vm.expectRevert(TrainingTask.AlreadyCommitted.selector);
        _aggregate(id, 0);

        vm.expectRevert(abi.encodeWithSelector(TrainingTask.NotOwner.selector, a));
        vm.prank(a);
        task.closeRound(id, 0, keccak256("record"), "bafyrecord", _none());
        // Only revealed updates can be excluded, and each once.
        _letRevealsLapse(id);
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.NotRevealed.selector, b));
        _close(id, 0, _list(b));
        vm.expectRevert(TrainingTask.AlreadyCommitted.selector);
        _close(id, 0, _list(a, a));
        _close(id, 0, _none());
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.WrongRound.selector, 1));
        _close(id, 0, _none());
    }

    // ---------------------------------------------------------------- 3. the reward rule

    /// Two rounds: a accepted twice, b and c once, d never (its round-0 update excluded).
    /// Contributors a, b, c (4 accepted); pool = reward + d's stake = 10.5 ether.
    function _finished() internal returns (uint256 id) {
        id = _create(2, 5);
        _join(id, a);
        _join(id, b);
        _join(id, c);
        _join(id, d);
        _start(id);
        _round(id, 0, _list(a, b, c, d), _list(d));
        _round(id, 1, _list(a), _none());
    }

    function test_finishedFixture() public {
        uint256 id = _finished();
        (uint256 contributors, uint256 acceptedTotal) = _contributors(id);
        assertEq(contributors, 3, "contributors");
        assertEq(acceptedTotal, 4, "accepted total");
        assertEq(task.pool(id), 10.5 ether, "pool");
    }

    function test_reportBelowFloorReverts() public {
        uint256 id = _finished();
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.BelowFloor.selector, c, FLOOR - 1, FLOOR));
        _report(id, _list(a, b, c), _amounts(8.5 ether + 1, FLOOR, FLOOR - 1));
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.BelowFloor.selector, a, 0, FLOOR));
        _report(id, _list(a, b, c), _amounts(0, 5.25 ether, 5.25 ether));
    }

    function test_reportMissingContributorReverts() public {
        uint256 id = _finished();
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.MissingContributors.selector, 2, 3));
        _report(id, _list(a, b), _amounts(5.5 ether, 5 ether));
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.MissingContributors.selector, 0, 3));
        _report(id, _none(), new uint256[](0));
    }

    function test_reportDuplicateOrUnsortedReverts() public {
        uint256 id = _finished();
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.NotInOrder.selector, a));
        _report(id, _list(a, a, b), _amounts(5 ether, 3 ether, 2.5 ether));
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.NotInOrder.selector, a));
        _report(id, _list(b, a, c), _amounts(5 ether, 3 ether, 2.5 ether));
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.NotInOrder.selector, address(0)));
        _report(id, _list(address(0), a, b), _amounts(5 ether, 3 ether, 2.5 ether));
    }

    function test_reportNamingNonContributorReverts() public {
        uint256 id = _finished();
        // d joined but has no accepted update; STRANGER never joined.
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.NotContributor.selector, d));
        _report(id, _list(a, b, d), _amounts(5 ether, 3 ether, 2.5 ether));
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.NotContributor.selector, STRANGER));
        _report(id, _list(a, b, STRANGER), _amounts(5 ether, 3 ether, 2.5 ether));
        // Naming too many is caught before (MissingContributors counts both ways).
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.MissingContributors.selector, 4, 3));
        _report(id, _list(a, b, c, d), _amounts(4 ether, 3 ether, 2.5 ether, 1 ether));
    }

    function test_reportWrongTotalReverts() public {
        uint256 id = _finished();
        uint256 pool = task.pool(id);
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.WrongTotal.selector, pool - 1, pool));
        _report(id, _list(a, b, c), _amounts(5 ether, 3 ether, 2.5 ether - 1));
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.WrongTotal.selector, pool + 1, pool));
        _report(id, _list(a, b, c), _amounts(5 ether, 3 ether, 2.5 ether + 1));
        // The reward alone (leaving d's forfeited stake with the contract) is too little.
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.WrongTotal.selector, REWARD, pool));
        _report(id, _list(a, b, c), _amounts(5 ether, 3 ether, 2 ether));
    }

    function test_reportShapeAndCallerChecked() public {
        uint256 id = _finished();
        vm.expectRevert(TrainingTask.InvalidParameters.selector);
        _report(id, _list(a, b, c), _amounts(5 ether, 5.5 ether));
        vm.expectRevert(TrainingTask.ZeroCommitment.selector);
        vm.prank(OWNER);
        task.reportContributions(id, bytes32(0), "", _list(a, b, c), _amounts(5 ether, 3 ether, 2.5 ether));
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.NotOwner.selector, a));
        vm.prank(a);
        task.reportContributions(id, keccak256("r"), "", _list(a, b, c), _amounts(5 ether, 3 ether, 2.5 ether));
        _report(id, _list(a, b, c), _amounts(5 ether, 3 ether, 2.5 ether));
        vm.expectRevert(TrainingTask.TaskNotOpen.selector);
        _report(id, _list(a, b, c), _amounts(5 ether, 3 ether, 2.5 ether));
    }

    function test_reportBeforeTrainingFinishedReverts() public {
        uint256 id = _create(2, 5);
        _join(id, a);
        _start(id);
        _round(id, 0, _list(a), _none());
        vm.expectRevert(TrainingTask.TrainingNotFinished.selector);
        _report(id, _list(a), _amounts(REWARD + STAKE));
        vm.expectRevert(TrainingTask.TrainingNotFinished.selector);
        task.payoutDefault(id);
    }

    function test_reportAfterWindowReverts() public {
        uint256 id = _finished();
        uint256 snapshot = vm.snapshotState();
        vm.warp(block.timestamp + REPORT_WINDOW - 1);
        _report(id, _list(a, b, c), _amounts(5 ether, 3 ether, 2.5 ether)); // last second: in time
        vm.revertToState(snapshot);
        vm.warp(block.timestamp + REPORT_WINDOW);
        vm.expectRevert(TrainingTask.ReportWindowClosed.selector);
        _report(id, _list(a, b, c), _amounts(5 ether, 3 ether, 2.5 ether));
    }

    function test_ownerCannotTakeThePoolBack() public {
        uint256 id = _finished();
        vm.warp(T0 + LIFETIME + 1); // past the deadline, too
        vm.expectRevert(TrainingTask.TrainingFinished.selector);
        vm.prank(OWNER);
        task.expire(id);
        vm.expectRevert(TrainingTask.NothingToClaim.selector);
        vm.prank(OWNER);
        task.claim(id);
        assertEq(address(task).balance, REWARD + 4 * STAKE, "all still escrowed");
    }

    function test_noReportInTimeDefaultPayout() public {
        uint256 id = _finished();
        vm.expectRevert(TrainingTask.ReportWindowOpen.selector);
        task.payoutDefault(id);
        vm.warp(block.timestamp + REPORT_WINDOW);
        vm.prank(STRANGER); // anyone
        task.payoutDefault(id);
        assertTrue(_state(id) == TrainingTask.State.Defaulted, "defaulted");
        vm.expectRevert(TrainingTask.TaskNotOpen.selector);
        _report(id, _list(a, b, c), _amounts(5 ether, 3 ether, 2.5 ether));
        vm.expectRevert(TrainingTask.TaskNotOpen.selector);
        task.payoutDefault(id);

        // floor + (pool − 3 floors) × accepted / 4 + stake: 1 + 7.5·2/4 + 0.5, 1 + 7.5/4 + 0.5.
        assertEq(_defaultAmount(id, a), 5.25 ether, "formula a");
        assertEq(_claim(id, a), 5.25 ether, "a paid");
        assertEq(_claim(id, b), 3.375 ether, "b paid");
        assertEq(_claim(id, c), 3.375 ether, "c paid");
        vm.expectRevert(TrainingTask.NothingToClaim.selector);
        vm.prank(d);
        task.claim(id);
        vm.expectRevert(TrainingTask.NothingToClaim.selector);
        vm.prank(OWNER);
        task.claim(id);
        assertEq(address(task).balance, 0, "paid out");
    }

    function test_majorityChallengeReplacesReport() public {
        uint256 id = _finished();
        // A report within the rules but not the default: a takes most.
        _report(id, _list(a, b, c), _amounts(8.5 ether, FLOOR, FLOOR));
        vm.prank(b);
        task.challenge(id);
        assertTrue(_state(id) == TrainingTask.State.Reported, "1 of 3: report stands");
        vm.expectRevert(TrainingTask.AlreadyChallenged.selector);
        vm.prank(b);
        task.challenge(id);
        vm.prank(c);
        task.challenge(id);
        assertTrue(_state(id) == TrainingTask.State.Defaulted, "2 of 3: default payout");
        (,,,,,, uint256 challenges,) = task.getTaskProgress(id);
        assertEq(challenges, 2, "challenges");
        vm.expectRevert(TrainingTask.TaskNotOpen.selector);
        vm.prank(a);
        task.challenge(id);
        // Claims open at once, by the default formula.
        assertEq(_claim(id, a), 5.25 ether, "a paid by the default");
        assertEq(_claim(id, b), 3.375 ether, "b paid by the default");
        assertEq(_claim(id, c), 3.375 ether, "c paid by the default");
        assertEq(address(task).balance, 0, "paid out");
    }

    function test_minorityChallengeLeavesReport() public {
        uint256 id = _finished();
        _report(id, _list(a, b, c), _amounts(8.5 ether, FLOOR, FLOOR));
        vm.prank(c);
        task.challenge(id);
        vm.warp(block.timestamp + CHALLENGE_WINDOW);
        vm.expectRevert(TrainingTask.ChallengeWindowClosed.selector);
        vm.prank(b);
        task.challenge(id);
        assertTrue(_state(id) == TrainingTask.State.Reported, "report stands");
        assertEq(_claim(id, a), 9 ether, "a paid by the report");
        assertEq(_claim(id, b), 1.5 ether, "b paid by the report");
        assertEq(_claim(id, c), 1.5 ether, "c paid by the report");
        assertEq(address(task).balance, 0, "paid out");
    }

    /// With n contributors, the report falls exactly when the i-th challenge makes 2i > n.
    function testFuzz_challengeNeedsMoreThanHalf(uint256 nSeed) public {
        _challengeOneByOne(bound(nSeed, 1, 12));
    }

    /// Exactly half is not a majority: 2 of 4 leave the report, the 3rd replaces it.
    function test_halfChallengeLeavesReport() public {
        uint256 id = _challengeOneByOne(4);
        (,,,,,, uint256 challenges,) = task.getTaskProgress(id);
        assertEq(challenges, 3, "the report fell at the third challenge");
    }

    /// n contributors (one round, all accepted), an even report, then challenges one by one
    /// until the report falls; returns the task.
    function _challengeOneByOne(uint256 n) internal returns (uint256 id) {
        id = _create(_terms(), 1, uint16(n), 1, 12 ether);
        address[] memory who = new address[](n);
        for (uint256 i = 0; i < n; ++i) {
            who[i] = _p(i + 1);
            _join(id, who[i]);
        }
        _start(id);
        _round(id, 0, who, _none());
        uint256[] memory amounts = new uint256[](n);
        uint256 share = 12 ether / n;
        for (uint256 i = 0; i < n; ++i) {
            amounts[i] = share;
        }
        amounts[0] += 12 ether - share * n;
        _report(id, who, amounts);
        for (uint256 i = 1; i <= n; ++i) {
            vm.prank(who[i - 1]);
            task.challenge(id);
            bool defaulted = _state(id) == TrainingTask.State.Defaulted;
            assertTrue(defaulted == (2 * i > n), "the report falls at a strict majority");
            if (defaulted) break;
        }
        assertTrue(_state(id) == TrainingTask.State.Defaulted, "a majority came");
    }

    function test_challengeOnlyByContributors() public {
        uint256 id = _finished();
        vm.expectRevert(TrainingTask.TaskNotOpen.selector); // nothing reported yet
        vm.prank(a);
        task.challenge(id);
        _report(id, _list(a, b, c), _amounts(8.5 ether, FLOOR, FLOOR));
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.NotContributor.selector, d));
        vm.prank(d);
        task.challenge(id);
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.NotContributor.selector, STRANGER));
        vm.prank(STRANGER);
        task.challenge(id);
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.NotContributor.selector, OWNER));
        vm.prank(OWNER);
        task.challenge(id);
    }

    function test_claimsBeforeChallengeWindowEndReverts() public {
        uint256 id = _finished();
        _report(id, _list(a, b, c), _amounts(5 ether, 3 ether, 2.5 ether));
        uint256 opensAt = block.timestamp + CHALLENGE_WINDOW;
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.ClaimsNotOpen.selector, opensAt));
        vm.prank(a);
        task.claim(id);
        vm.warp(opensAt - 1);
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.ClaimsNotOpen.selector, opensAt));
        vm.prank(b);
        task.claim(id);
        vm.warp(opensAt);
        assertEq(_claim(id, a), 5.5 ether, "a paid once open");
    }

    /// Nobody contributed: the owner's (empty) report returns the pool — the reward and
    /// every forfeited stake — to the owner; the default payout does the same.
    /// Without contributors the reward goes back to the owner and each stake to its payer:
    /// an owner who leaves every update out collects nobody's stake.
    function test_noContributorsReturnsTheRewardAndEveryStake() public {
        uint256 id = _create(1, 3);
        _join(id, a);
        _join(id, b);
        _start(id);
        _round(id, 0, _list(a, b), _list(a, b));
        (uint256 contributors,) = _contributors(id);
        assertEq(contributors, 0, "no contributors");
        uint256 snapshot = vm.snapshotState();

        assertEq(task.pool(id), REWARD, "no stake is forfeited");
        _report(id, _none(), new uint256[](0));
        assertTrue(_state(id) == TrainingTask.State.Reported, "reported");
        vm.warp(block.timestamp + CHALLENGE_WINDOW);
        assertEq(_claim(id, OWNER), REWARD, "the owner takes the reward back");
        assertEq(_claim(id, a), STAKE, "a's stake back");
        assertEq(_claim(id, b), STAKE, "b's stake back");
        assertEq(address(task).balance, 0, "paid out");

        vm.revertToState(snapshot);
        vm.warp(block.timestamp + REPORT_WINDOW);
        task.payoutDefault(id);
        assertEq(_claim(id, OWNER), REWARD, "the reward back by default");
        assertEq(_claim(id, a), STAKE, "a's stake back by default");
        assertEq(_claim(id, b), STAKE, "b's stake back by default");
        assertEq(address(task).balance, 0, "paid out by default");
    }

    /// Any split within the rules is accepted and paid exactly; one wei off is not.
    function testFuzz_reportSplitsPool(uint256 x, uint256 y) public {
        uint256 id = _finished();
        uint256 pool = task.pool(id);
        uint256 rest = pool - 3 * uint256(FLOOR);
        uint256 toA = bound(x, 0, rest);
        uint256 toB = bound(y, 0, rest - toA);
        uint256[] memory amounts = _amounts(FLOOR + toA, FLOOR + toB, FLOOR + rest - toA - toB);
        amounts[2] += 1;
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.WrongTotal.selector, pool + 1, pool));
        _report(id, _list(a, b, c), amounts);
        amounts[2] -= 1;
        _report(id, _list(a, b, c), amounts);
        vm.warp(block.timestamp + CHALLENGE_WINDOW);
        assertEq(_claim(id, a), amounts[0] + STAKE, "a");
        assertEq(_claim(id, b), amounts[1] + STAKE, "b");
        assertEq(_claim(id, c), amounts[2] + STAKE, "c");
        assertEq(address(task).balance, 0, "paid out");
    }

    /// The default payout never pays out more than the escrow, and leaves at most one wei
    /// per contributor behind.
    function testFuzz_defaultPayoutWithinEscrow(uint256 rewardSeed, uint256 floorSeed, uint256 stakeSeed, uint256 shape)
        public
    {
        uint256 reward = bound(rewardSeed, 4, 1_000 ether);
        TrainingTask.Terms memory t = _terms();
        t.floor = uint128(bound(floorSeed, 0, reward / 4));
        t.stake = uint128(bound(stakeSeed, 0, 10 ether));
        uint256 id = _create(t, 3, 4, 1, reward);
        address[4] memory all = [a, b, c, d];
        for (uint256 i = 0; i < 4; ++i) {
            _join(id, all[i]);
        }
        _start(id);
        // Each round, each participant seals (bit set) or not; revealed updates all accepted.
        for (uint256 round = 0; round < 3; ++round) {
            uint256 count = 0;
            for (uint256 i = 0; i < 4; ++i) {
                if ((shape >> (round * 4 + i)) & 1 == 1) ++count;
            }
            address[] memory sealers = new address[](count);
            count = 0;
            for (uint256 i = 0; i < 4; ++i) {
                if ((shape >> (round * 4 + i)) & 1 == 1) sealers[count++] = all[i];
            }
            _round(id, round, sealers, _none());
        }
        vm.warp(block.timestamp + REPORT_WINDOW);
        task.payoutDefault(id);
        uint256 escrow = reward + 4 * uint256(t.stake);
        assertEq(address(task).balance, escrow, "escrow");
        (uint256 contributors,) = _contributors(id);
        uint256 paid = 0;
        for (uint256 i = 0; i < 4; ++i) {
            uint256 due = task.claimable(id, all[i]);
            if (_accepted(id, all[i]) > 0) {
                assertEq(due, _defaultAmount(id, all[i]), "default formula");
                assertLe(uint256(t.floor) + t.stake, due, "at least floor + stake");
                paid += _claim(id, all[i]);
            } else if (contributors == 0) {
                assertEq(due, t.stake, "no contributors: the stake back");
                if (due > 0) paid += _claim(id, all[i]);
            } else {
                assertEq(due, 0, "no accepted update, nothing due");
            }
        }
        if (contributors == 0) paid += _claim(id, OWNER);
        assertLe(paid, escrow, "paid within escrow");
        assertLe(escrow - paid, contributors, "at most a wei per contributor left");
        assertEq(address(task).balance, escrow - paid, "balance = escrow - paid");
    }

    // ---------------------------------------------------------------- 4. admission

    function test_allowlistAdmitsMembersOnly() public {
        address[] memory members = new address[](5);
        for (uint256 i = 0; i < 5; ++i) {
            members[i] = _p(i + 1);
        }
        TrainingTask.Terms memory t = _terms();
        t.allowlist = _merkleRoot(members);
        uint256 id = _create(t, 1, 8, 1, REWARD);

        // Outsiders: no proof, a member's proof, a proof made up.
        address outsider = _p(6);
        vm.deal(outsider, 3 * uint256(STAKE));
        bytes32[] memory proof0 = _merkleProof(members, 0);
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.NotAdmitted.selector, outsider));
        vm.prank(outsider);
        task.join{value: STAKE}(id, _manifest(outsider), "", new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.NotAdmitted.selector, outsider));
        vm.prank(outsider);
        task.join{value: STAKE}(id, _manifest(outsider), "", proof0);
        bytes32[] memory madeUp = new bytes32[](3);
        madeUp[0] = _leaf(outsider);
        madeUp[1] = t.allowlist;
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.NotAdmitted.selector, outsider));
        vm.prank(outsider);
        task.join{value: STAKE}(id, _manifest(outsider), "", madeUp);

        // A member with a tampered or short proof is turned away too.
        bytes32[] memory proof3 = _merkleProof(members, 3);
        assertTrue(proof3.length >= 2, "a proof of several levels");
        proof3[0] ^= bytes32(uint256(1));
        vm.deal(members[3], STAKE);
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.NotAdmitted.selector, members[3]));
        vm.prank(members[3]);
        task.join{value: STAKE}(id, _manifest(members[3]), "", proof3);
        bytes32[] memory short = new bytes32[](1);
        short[0] = _merkleProof(members, 3)[0];
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.NotAdmitted.selector, members[3]));
        vm.prank(members[3]);
        task.join{value: STAKE}(id, _manifest(members[3]), "", short);

        // Every member joins with its own proof (the odd last one included).
        for (uint256 i = 0; i < 5; ++i) {
            _join(id, members[i], _merkleProof(members, i));
        }
        (,,,,, uint256 participantCount,,,) = task.getTask(id);
        assertEq(participantCount, 5, "members joined");
    }

    function test_allowlistOfOne() public {
        TrainingTask.Terms memory t = _terms();
        t.allowlist = _leaf(a);
        uint256 id = _create(t, 1, 2, 1, REWARD);
        _join(id, a, new bytes32[](0));
        vm.deal(b, STAKE);
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.NotAdmitted.selector, b));
        vm.prank(b);
        task.join{value: STAKE}(id, _manifest(b), "", new bytes32[](0));
    }

    function test_joinRequiresExactStake() public {
        uint256 id = _create(1, 3);
        vm.deal(a, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.WrongStake.selector, STAKE - 1, STAKE));
        vm.prank(a);
        task.join{value: STAKE - 1}(id, _manifest(a), "", new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.WrongStake.selector, STAKE + 1, STAKE));
        vm.prank(a);
        task.join{value: STAKE + 1}(id, _manifest(a), "", new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.WrongStake.selector, 0, STAKE));
        vm.prank(a);
        task.join(id, _manifest(a), "", new bytes32[](0));

        TrainingTask.Terms memory free = _terms();
        free.stake = 0;
        uint256 freeId = _create(free, 1, 3, 1, REWARD);
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.WrongStake.selector, 1, 0));
        vm.prank(a);
        task.join{value: 1}(freeId, _manifest(a), "", new bytes32[](0));
        vm.prank(a);
        task.join(freeId, _manifest(a), "", new bytes32[](0));
    }

    function test_joinRules() public {
        uint256 id = _create(_terms(), 1, 2, 2, REWARD);
        vm.deal(OWNER, STAKE);
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.NotAdmitted.selector, OWNER));
        vm.prank(OWNER);
        task.join{value: STAKE}(id, _manifest(OWNER), "", new bytes32[](0));
        vm.deal(a, 2 * uint256(STAKE));
        vm.expectRevert(TrainingTask.ZeroCommitment.selector);
        vm.prank(a);
        task.join{value: STAKE}(id, bytes32(0), "", new bytes32[](0));
        _join(id, a);
        vm.deal(a, STAKE);
        vm.expectRevert(TrainingTask.AlreadyJoined.selector);
        vm.prank(a);
        task.join{value: STAKE}(id, _manifest(a), "", new bytes32[](0));

        vm.expectRevert(abi.encodeWithSelector(TrainingTask.TooFewParticipants.selector, 1, 2));
        _start(id);
        _join(id, b);
        vm.deal(c, STAKE);
        vm.expectRevert(TrainingTask.TaskFull.selector);
        vm.prank(c);
        task.join{value: STAKE}(id, _manifest(c), "", new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.NotOwner.selector, a));
        vm.prank(a);
        task.start(id);
        _start(id);
        vm.expectRevert(TrainingTask.AlreadyStarted.selector);
        _start(id);

        uint256 other = _create(1, 3);
        vm.warp(T0 + LIFETIME);
        vm.expectRevert(TrainingTask.DeadlinePassed.selector);
        vm.prank(c);
        task.join{value: STAKE}(other, _manifest(c), "", new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(TrainingTask.UnknownTask.selector, 99));
        vm.prank(c);
        task.join{value: STAKE}(99, _manifest(c), "", new bytes32[](0));
    }

    function test_createTaskValidates() public {
        TrainingTask.Terms memory t = _terms();
        uint64 deadline = uint64(block.timestamp + 1 days);
        vm.deal(OWNER, 100 ether);
        vm.startPrank(OWNER);
        // floor × maxParticipants must fit in the reward: 1 ether × 11 > 10 ether.
        vm.expectRevert(TrainingTask.InvalidParameters.selector);
        task.createTask{value: 10 ether}(SPEC, "", 1, 11, 1, deadline, AGGREGATOR, t);
        vm.expectRevert(TrainingTask.InvalidParameters.selector); // more than MAX_PARTICIPANTS
        task.createTask{value: 10 ether}(SPEC, "", 1, 257, 1, deadline, AGGREGATOR, _freeTerms());
        vm.expectRevert(TrainingTask.InvalidParameters.selector); // no rounds
        task.createTask{value: 10 ether}(SPEC, "", 0, 4, 1, deadline, AGGREGATOR, t);
        vm.expectRevert(TrainingTask.InvalidParameters.selector); // min > max
        task.createTask{value: 10 ether}(SPEC, "", 1, 4, 5, deadline, AGGREGATOR, t);
        vm.expectRevert(TrainingTask.InvalidParameters.selector); // deadline now
        task.createTask{value: 10 ether}(SPEC, "", 1, 4, 1, uint64(block.timestamp), AGGREGATOR, t);
        vm.expectRevert(TrainingTask.InvalidParameters.selector); // no aggregator
        task.createTask{value: 10 ether}(SPEC, "", 1, 4, 1, deadline, address(0), t);
        vm.expectRevert(TrainingTask.InvalidParameters.selector); // no spec
        task.createTask{value: 10 ether}(bytes32(0), "", 1, 4, 1, deadline, AGGREGATOR, t);
        // A zero commit window lets nobody seal (every stake would be forfeited); a zero
        // report window lets the owner never report.
        TrainingTask.Terms memory closed = _terms();
        closed.commitWindow = 0;
        vm.expectRevert(TrainingTask.InvalidParameters.selector);
        task.createTask{value: 10 ether}(SPEC, "", 1, 4, 1, deadline, AGGREGATOR, closed);
        closed = _terms();
        closed.reportWindow = 0;
        vm.expectRevert(TrainingTask.InvalidParameters.selector);
        task.createTask{value: 10 ether}(SPEC, "", 1, 4, 1, deadline, AGGREGATOR, closed);
        // At the limits: 256 participants, floor × max = reward exactly.
        t.floor = 1 ether;
        uint256 id = task.createTask{value: 10 ether}(SPEC, "", 1, 10, 1, deadline, AGGREGATOR, t);
        task.createTask{value: 1 ether}(SPEC, "", 1, 256, 1, deadline, AGGREGATOR, _freeTerms());
        vm.stopPrank();
        assertEq(id, 1, "created");
        assertEq(task.nextTaskId(), 3, "two created");
    }

    function _freeTerms() internal pure returns (TrainingTask.Terms memory t) {
        t = _terms();
        t.floor = 0;
    }

    function test_stakeForfeitedWithoutAcceptedUpdate() public {
        // b seals but never reveals, c never seals, d's update is excluded: all three forfeit.
        uint256 id = _create(1, 4);
        _join(id, a);
        _join(id, b);
        _join(id, c);
        _join(id, d);
        _start(id);
        _seal(id, 0, a);
        _seal(id, 0, b);
        _seal(id, 0, d);
        vm.warp(block.timestamp + COMMIT_WINDOW);
        _reveal(id, 0, a);
        _reveal(id, 0, d);
        _letRevealsLapse(id);
        _close(id, 0, _list(d));
        assertEq(task.pool(id), REWARD + 3 * STAKE, "three stakes forfeited");
        vm.warp(block.timestamp + REPORT_WINDOW);
        task.payoutDefault(id);
        for (uint256 i = 2; i <= 4; ++i) {
            assertEq(task.claimable(id, _p(i)), 0, "forfeited");
        }
        assertEq(_claim(id, a), REWARD + 4 * STAKE, "a takes the pool and its stake");
        assertEq(address(task).balance, 0, "paid out");
    }

    function test_expiryReturnsStakesWhenNeverStarted() public {
        uint256 id = _create(_terms(), 1, 5, 3, REWARD);
        _join(id, a);
        _join(id, b);
        vm.expectRevert(TrainingTask.DeadlineNotPassed.selector);
        task.expire(id);
        vm.warp(T0 + LIFETIME);
        vm.expectRevert(TrainingTask.DeadlinePassed.selector);
        _start(id);
        vm.prank(STRANGER);
        task.expire(id);
        assertTrue(_state(id) == TrainingTask.State.Expired, "expired");
        vm.expectRevert(TrainingTask.TaskNotOpen.selector);
        task.expire(id);
        assertEq(_claim(id, a), STAKE, "a's stake back");
        assertEq(_claim(id, b), STAKE, "b's stake back");
        assertEq(_claim(id, OWNER), REWARD, "the reward back");
        vm.expectRevert(TrainingTask.NothingToClaim.selector);
        vm.prank(OWNER);
        task.claim(id);
        vm.expectRevert(TrainingTask.NothingToClaim.selector);
        vm.prank(c);
        task.claim(id);
        assertEq(address(task).balance, 0, "paid out");
    }

    function test_expiryDuringTraining() public {
        uint256 id = _create(2, 3);
        _join(id, a);
        _join(id, b);
        _join(id, c);
        _start(id);
        _round(id, 0, _list(a, b), _none()); // c never seals
        _seal(id, 1, a); // round 1 never finishes
        vm.warp(T0 + LIFETIME);
        task.expire(id);
        // Contributors so far: floor + stake; c: its stake (never the owner's); the owner:
        // the rest of the reward.
        assertEq(task.claimable(id, OWNER), REWARD - 2 * uint256(FLOOR), "owner credit");
        assertEq(_claim(id, a), FLOOR + STAKE, "a");
        assertEq(_claim(id, b), FLOOR + STAKE, "b");
        assertEq(_claim(id, c), STAKE, "c's stake back");
        assertEq(_claim(id, OWNER), REWARD - 2 * uint256(FLOOR), "owner paid");
        assertEq(address(task).balance, 0, "paid out");
    }

    // ---------------------------------------------------------------- 5. attacker contracts

    /// A one-round task: honest a, and `bot` (both accepted). Reported 5.5 / 4.5 ether and
    /// past the challenge window: claims are open.
    function _withBot(ParticipantBot bot) internal returns (uint256 id) {
        id = _create(1, 3);
        _join(id, a);
        vm.deal(address(bot), STAKE);
        bot.join(id);
        _start(id);
        _seal(id, 0, a);
        bytes32 digest = keccak256("bot update");
        bot.seal(id, 0, digest);
        _reveal(id, 0, a);
        bot.reveal(id, 0, digest);
        _close(id, 0, _none());
        if (address(bot) > a) _report(id, _list(a, address(bot)), _amounts(5.5 ether, 4.5 ether));
        else _report(id, _list(address(bot), a), _amounts(4.5 ether, 5.5 ether));
        vm.warp(block.timestamp + CHALLENGE_WINDOW);
        assertEq(task.claimable(id, address(bot)), 5 ether, "bot due");
    }

    function test_reentrantClaimRevertsWhole() public {
        ReentrantClaimer bot = new ReentrantClaimer(task);
        uint256 id = _withBot(bot);
        bot.arm(id, false);
        // The re-entry finds nothing to claim and reverts; the payment fails with it.
        vm.expectRevert(TrainingTask.TransferFailed.selector);
        bot.claim(id);
        assertEq(address(bot).balance, 0, "bot unpaid");
        assertEq(bot.received(), 0, "nothing received");
        assertEq(task.claimable(id, address(bot)), 5 ether, "still due");
        assertEq(_claim(id, a), 6 ether, "a unaffected");
        bot.arm(0, false);
        bot.claim(id);
        assertEq(address(bot).balance, 5 ether, "bot paid once, when it behaves");
        assertEq(address(task).balance, 0, "paid out");
    }

    function test_reentrantClaimSwallowedIsPaidOnce() public {
        ReentrantClaimer bot = new ReentrantClaimer(task);
        uint256 id = _withBot(bot);
        bot.arm(id, true);
        uint256 before = address(task).balance;
        bot.claim(id);
        assertEq(bot.reentries(), 1, "re-entered");
        assertEq(bot.reentryError(), abi.encodeWithSelector(TrainingTask.NothingToClaim.selector), "re-entry refused");
        assertEq(bot.received(), 5 ether, "paid once");
        assertEq(address(bot).balance, 5 ether, "balance: once");
        assertEq(before - address(task).balance, 5 ether, "contract paid once");
        vm.expectRevert(TrainingTask.NothingToClaim.selector);
        bot.claim(id);
        assertEq(_claim(id, a), 6 ether, "a unaffected");
        assertEq(address(task).balance, 0, "paid out");
    }

    function test_revertingReceiverOnlyHurtsItself() public {
        RevertingReceiver bot = new RevertingReceiver(task);
        uint256 id = _withBot(bot);
        vm.expectRevert(TrainingTask.TransferFailed.selector);
        bot.claim(id);
        assertEq(task.claimable(id, address(bot)), 5 ether, "still due");
        assertEq(_claim(id, a), 6 ether, "a claims");
        assertEq(address(task).balance, 5 ether, "only the bot's amount stays");
    }

    function _returnBomb(ReturnBomb.Mode mode) internal {
        ReturnBomb bot = new ReturnBomb(task);
        uint256 id = _withBot(bot);
        bot.setMode(mode);
        uint256 budget = 15_000_000;
        uint256 before = gasleft();
        (bool ok,) = address(bot).call{gas: budget}(abi.encodeCall(ParticipantBot.claim, (id)));
        uint256 used = before - gasleft();
        emit log_named_uint("return bomb: gas of the bomber's claim", used);
        emit log_named_uint("return bomb: the bomber's claim went through", ok ? 1 : 0);
        assertLe(used, budget + 50_000, "the bomb spends the bomber's gas only");
        // The contract never copies what a recipient returns: a huge return buffer costs
        // the bomber its own gas, and the claim goes through.
        if (mode == ReturnBomb.Mode.Return) assertTrue(ok, "the return data is not copied");
        if (ok) {
            assertEq(address(bot).balance, 5 ether, "paid once");
        } else {
            assertEq(address(bot).balance, 0, "unpaid");
            assertEq(task.claimable(id, address(bot)), 5 ether, "still due");
        }
        // Others claim as cheaply as ever.
        uint256 start = gasleft();
        assertEq(_claim(id, a), 6 ether, "a claims");
        assertLt(start - gasleft(), 100_000, "a's claim is cheap");
        // The bomber, quiet again, gets what it is due (if it was not paid).
        bot.setMode(ReturnBomb.Mode.Quiet);
        if (!ok) bot.claim(id);
        assertEq(address(bot).balance, 5 ether, "bot paid");
        assertEq(address(task).balance, 0, "paid out");
    }

    function test_returnBombReturnData() public {
        _returnBomb(ReturnBomb.Mode.Return);
    }

    function test_returnBombRevertData() public {
        _returnBomb(ReturnBomb.Mode.Revert);
    }
}
