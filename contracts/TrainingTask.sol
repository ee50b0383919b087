// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title TrainingTask (v3) — federated training tasks whose reward rule the chain enforces.
/// @notice A model provider publishes a task (the digest of its specification and, in the
/// event, the specification's CID), names the aggregator, escrows the reward and commits the
/// task's terms: the contribution rule, a floor per contributor, the admission policy
/// (an allowlist's Merkle root and/or a stake) and the windows below. Data providers join
/// with their dataset manifest (and the stake); the owner starts the task once enough have
/// joined.
///
/// Each round has two phases. While the round is *sealing*, every participant seals its
/// update: H(sender, task, round, digest). The round *reveals* once every participant has
/// sealed or the commit window has passed; then each participant reveals the digest and the
/// CID it sealed. Nobody can copy (or re-randomise) another's update in time: the update's
/// CID is public only after sealing has closed, and a seal names its sender. The aggregator
/// posts the aggregate and the owner closes the round, naming the revealed updates it left
/// out; every other revealed update is *accepted*, and a participant with at least one
/// accepted update is a *contributor*.
///
/// After the last round the pool (the reward and the stakes forfeited by participants
/// without an accepted update) belongs to the contributors:
///   - the owner reports each contributor's amount within `reportWindow`: every contributor
///     named once, in ascending address order, each at least `floor`, summing to the pool;
///   - with no report by then, anyone triggers the default payout;
///   - during `challengeWindow` after a report, contributors may challenge it; when more
///     than half of them have, the report is replaced by the default payout. The
///     contributors decide — no single party, the owner included, can.
/// The default payout gives each contributor the floor plus the rest of the pool in
/// proportion to its accepted updates. Claims (reward plus stake) open when the challenge
/// window has passed, at once under the default payout. The owner cannot take the pool back
/// once the last round has closed. Without any contributor the reward returns to the owner
/// and every stake to its payer. A task still training at its deadline expires: the
/// contributors so far claim the floor, every participant its stake, and the rest of the
/// reward returns to the owner. Nothing a participant staked can end with the owner.
///
/// Commitments are bytes32 digests of artifacts held in content-addressed stores; the CIDs
/// travel in events only. Payments are pulled, never pushed, and no function loops over
/// more than its own arguments, bounded by MAX_PARTICIPANTS.
contract TrainingTask {
    enum State {
        None,
        Open, // joining, training, or waiting for the report
        Reported, // report in; claims open after the challenge window
        Defaulted, // the rule's default payout (no report in time, or the report overturned)
        Expired // the deadline passed before the last round closed
    }

    /// What createTask commits besides the spec: the reward rule and the admission policy.
    struct Terms {
        bytes32 rule; // the contribution method (its id, as in the spec)
        uint128 floor; // per contributor; floor × maxParticipants ≤ reward
        uint128 stake; // paid with join
        bytes32 allowlist; // Merkle root of admitted addresses; zero: anyone may join
        uint32 commitWindow; // seconds a round seals before it reveals anyway
        uint32 reportWindow; // seconds after the last round closes for the owner's report
        uint32 challengeWindow; // seconds after the report before claims open
    }

    struct Task {
        // slot 0
        address owner;
        uint64 deadline;
        State state;
        uint16 maxParticipants;
        uint8 rounds;
        // slot 1
        address aggregator;
        uint8 currentRound; // rounds closed so far
        uint16 participantCount;
        uint16 minParticipants;
        bool started;
        uint16 sealedCount; // seals in the current round
        uint16 contributors;
        uint16 challenges;
        // slot 2
        uint128 reward;
        uint64 roundOpenedAt; // when the current round opened
        uint64 phaseAt; // when the last round closed, then when the report came in
        // slot 3
        bytes32 spec;
        // slot 4
        uint32 acceptedTotal; // accepted updates over all contributors
        uint128 ownerCredit; // what the owner may withdraw (nothing to pay, or an expiry)
        uint16 revealedCount; // reveals in the current round
    }

    struct Participant {
        bool joined;
        bool claimed;
        bool challenged;
        uint16 accepted; // accepted updates
        uint128 owed; // the report's amount for this participant
    }

    uint256 public constant MAX_PARTICIPANTS = 256;

    uint256 public nextTaskId = 1;
    mapping(uint256 => Task) private tasks;
    mapping(uint256 => Terms) private terms;
    mapping(uint256 => mapping(address => Participant)) public participants;
    /// sealedUpdates[task][round][participant]: H(participant, task, round, digest)
    mapping(uint256 => mapping(uint256 => mapping(address => bytes32))) public sealedUpdates;
    /// updateCommitments[task][round][participant]: the revealed digest
    mapping(uint256 => mapping(uint256 => mapping(address => bytes32))) public updateCommitments;
    /// excludedUpdates[task][round][participant]: the owner left the revealed update out
    mapping(uint256 => mapping(uint256 => mapping(address => bool))) public excludedUpdates;
    /// aggregateCommitments[task][round]: what the aggregator posted
    mapping(uint256 => mapping(uint256 => bytes32)) public aggregateCommitments;
    /// roundRecords[task][round]: the owner's record of the closed round
    mapping(uint256 => mapping(uint256 => bytes32)) public roundRecords;
    mapping(uint256 => bytes32) public contributionReports;

    event TaskCreated(uint256 indexed taskId, address indexed owner, bytes32 spec, string specCid, address aggregator, uint256 reward, uint256 rounds, uint256 deadline);
    event TaskTerms(uint256 indexed taskId, Terms terms);
    event ParticipantJoined(uint256 indexed taskId, address indexed participant, bytes32 manifest, string manifestCid);
    event TaskStarted(uint256 indexed taskId, uint256 participants);
    event UpdateSealed(uint256 indexed taskId, uint256 indexed round, address indexed participant, bytes32 seal);
    event UpdateCommitted(uint256 indexed taskId, uint256 indexed round, address indexed participant, bytes32 commitment, string cid);
    event AggregatePosted(uint256 indexed taskId, uint256 indexed round, bytes32 commitment, string cid);
    event RoundClosed(uint256 indexed taskId, uint256 indexed round, bytes32 record, string recordCid);
    event UpdateExcluded(uint256 indexed taskId, uint256 indexed round, address indexed participant);
    event ContributionsReported(uint256 indexed taskId, bytes32 report, string reportCid, uint256 totalPaid);
    event ReportChallenged(uint256 indexed taskId, address indexed participant, uint256 challenges);
    event DefaultPayout(uint256 indexed taskId, uint256 pool);
    event TaskExpired(uint256 indexed taskId, uint256 ownerCredit);
    event RewardClaimed(uint256 indexed taskId, address indexed participant, uint256 amount);

    error UnknownTask(uint256 taskId);
    error NotOwner(address caller);
    error NotAggregator(address caller);
    error NotParticipant(address caller);
    error NotContributor(address caller);
    error NotAdmitted(address caller);
    error WrongStake(uint256 paid, uint256 stake);
    error InvalidParameters();
    error TaskNotOpen();
    error AlreadyStarted();
    error NotStarted();
    error TooFewParticipants(uint256 joined, uint256 needed);
    error DeadlinePassed();
    error DeadlineNotPassed();
    error TaskFull();
    error AlreadyJoined();
    error WrongRound(uint256 expected);
    error AlreadyCommitted();
    error ZeroCommitment();
    error SealingClosed();
    error NotRevealing();
    error RevealsPending(uint256 sealedNotRevealed);
    error SealMismatch();
    error NotRevealed(address participant);
    error TrainingNotFinished();
    error TrainingFinished();
    error ReportWindowOpen();
    error ReportWindowClosed();
    error ChallengeWindowClosed();
    error AlreadyChallenged();
    error NotInOrder(address participant);
    error MissingContributors(uint256 named, uint256 contributors);
    error BelowFloor(address participant, uint256 amount, uint256 floor);
    error WrongTotal(uint256 total, uint256 pool);
    error ClaimsNotOpen(uint256 opensAt);
    error NothingToClaim();
    error TransferFailed();

    function createTask(
        bytes32 spec,
        string calldata specCid,
        uint8 rounds,
        uint16 maxParticipants,
        uint16 minParticipants,
        uint64 deadline,
        address aggregator,
        Terms calldata taskTerms
    ) external payable returns (uint256 taskId) {
        if (
            rounds == 0 || maxParticipants == 0 || maxParticipants > MAX_PARTICIPANTS || minParticipants == 0
                || minParticipants > maxParticipants || deadline <= block.timestamp || spec == bytes32(0)
                || aggregator == address(0) || msg.value > type(uint128).max
                || uint256(taskTerms.floor) * maxParticipants > msg.value || taskTerms.commitWindow == 0
                || taskTerms.reportWindow == 0
        ) {
            revert InvalidParameters();
        }
        taskId = nextTaskId;
        unchecked {
            nextTaskId = taskId + 1;
        }
        Task storage task = tasks[taskId];
        task.owner = msg.sender;
        task.deadline = deadline;
        task.state = State.Open;
        task.maxParticipants = maxParticipants;
        task.rounds = rounds;
        task.aggregator = aggregator;
        task.minParticipants = minParticipants;
        task.reward = uint128(msg.value);
        task.spec = spec;
        terms[taskId] = taskTerms;
        emit TaskCreated(taskId, msg.sender, spec, specCid, aggregator, msg.value, rounds, deadline);
        emit TaskTerms(taskId, taskTerms);
    }

    /// Joins with the digest of the participant's dataset manifest (its CID in the event),
    /// paying the task's stake; `proof` shows the sender on the allowlist, if there is one
    /// (leaves are keccak256(keccak256(abi.encode(address))), pairs hashed in sorted order).
    function join(uint256 taskId, bytes32 manifest, string calldata manifestCid, bytes32[] calldata proof)
        external
        payable
    {
        Task storage task = _open(taskId);
        Terms storage taskTerms = terms[taskId];
        if (task.started) revert AlreadyStarted();
        if (manifest == bytes32(0)) revert ZeroCommitment();
        if (msg.sender == task.owner) revert NotAdmitted(msg.sender);
        if (task.participantCount >= task.maxParticipants) revert TaskFull();
        if (msg.value != taskTerms.stake) revert WrongStake(msg.value, taskTerms.stake);
        if (taskTerms.allowlist != bytes32(0) && !_admitted(taskTerms.allowlist, msg.sender, proof)) {
            revert NotAdmitted(msg.sender);
        }
        Participant storage participant = participants[taskId][msg.sender];
        if (participant.joined) revert AlreadyJoined();
        participant.joined = true;
        task.participantCount += 1;
        emit ParticipantJoined(taskId, msg.sender, manifest, manifestCid);
    }

    /// Closes the participant list and opens round 0.
    function start(uint256 taskId) external {
        Task storage task = _open(taskId);
        if (msg.sender != task.owner) revert NotOwner(msg.sender);
        if (task.started) revert AlreadyStarted();
        if (task.participantCount < task.minParticipants) {
            revert TooFewParticipants(task.participantCount, task.minParticipants);
        }
        task.started = true;
        task.roundOpenedAt = uint64(block.timestamp);
        emit TaskStarted(taskId, task.participantCount);
    }

    /// Seals the participant's update for the round being trained now (`round` counts from
    /// 0): `seal` is keccak256(abi.encode(sender, taskId, round, digest)).
    function sealUpdate(uint256 taskId, uint256 round, bytes32 seal) external {
        Task storage task = _running(taskId, round);
        if (!participants[taskId][msg.sender].joined) revert NotParticipant(msg.sender);
        if (seal == bytes32(0)) revert ZeroCommitment();
        if (_revealing(task, taskId)) revert SealingClosed();
        if (sealedUpdates[taskId][round][msg.sender] != bytes32(0)) revert AlreadyCommitted();
        sealedUpdates[taskId][round][msg.sender] = seal;
        task.sealedCount += 1;
        emit UpdateSealed(taskId, round, msg.sender, seal);
    }

    /// Reveals the sealed update once the round reveals: its digest and CID.
    function submitUpdate(uint256 taskId, uint256 round, bytes32 commitment, string calldata cid) external {
        Task storage task = _running(taskId, round);
        if (!_revealing(task, taskId)) revert NotRevealing();
        if (commitment == bytes32(0)) revert ZeroCommitment();
        if (updateCommitments[taskId][round][msg.sender] != bytes32(0)) revert AlreadyCommitted();
        bytes32 seal = sealedUpdates[taskId][round][msg.sender];
        if (seal == bytes32(0) || seal != updateSeal(msg.sender, taskId, round, commitment)) revert SealMismatch();
        updateCommitments[taskId][round][msg.sender] = commitment;
        task.revealedCount += 1;
        Participant storage participant = participants[taskId][msg.sender];
        if (participant.accepted == 0) task.contributors += 1;
        participant.accepted += 1;
        task.acceptedTotal += 1;
        emit UpdateCommitted(taskId, round, msg.sender, commitment, cid);
    }

    /// The aggregator's manifest for the round (the encrypted sum and what it includes).
    function postAggregate(uint256 taskId, uint256 round, bytes32 commitment, string calldata cid) external {
        Task storage task = _running(taskId, round);
        if (msg.sender != task.aggregator) revert NotAggregator(msg.sender);
        if (commitment == bytes32(0)) revert ZeroCommitment();
        if (aggregateCommitments[taskId][round] != bytes32(0)) revert AlreadyCommitted();
        aggregateCommitments[taskId][round] = commitment;
        emit AggregatePosted(taskId, round, commitment, cid);
    }

    /// The owner's record of the round (the aggregate it used, exclusions, the new model);
    /// opens the next round. `excluded` names the revealed updates the record leaves out:
    /// they are not accepted. The round must be revealing, and every seal revealed or a
    /// second commit window passed: the owner cannot cut a round short before the
    /// participants who sealed had the time to reveal. The aggregate need not have been
    /// posted: a round whose aggregator failed is closed with the owner's own sum.
    function closeRound(
        uint256 taskId,
        uint256 round,
        bytes32 record,
        string calldata recordCid,
        address[] calldata excluded
    ) external {
        Task storage task = _running(taskId, round);
        if (msg.sender != task.owner) revert NotOwner(msg.sender);
        if (record == bytes32(0)) revert ZeroCommitment();
        if (!_revealing(task, taskId)) revert NotRevealing();
        if (
            task.revealedCount != task.sealedCount
                && block.timestamp < uint256(task.roundOpenedAt) + 2 * uint256(terms[taskId].commitWindow)
        ) revert RevealsPending(task.sealedCount - task.revealedCount);
        for (uint256 i = 0; i < excluded.length; ++i) {
            address who = excluded[i];
            if (updateCommitments[taskId][round][who] == bytes32(0)) revert NotRevealed(who);
            if (excludedUpdates[taskId][round][who]) revert AlreadyCommitted();
            excludedUpdates[taskId][round][who] = true;
            Participant storage participant = participants[taskId][who];
            participant.accepted -= 1;
            if (participant.accepted == 0) task.contributors -= 1;
            task.acceptedTotal -= 1;
            emit UpdateExcluded(taskId, round, who);
        }
        roundRecords[taskId][round] = record;
        task.currentRound = uint8(round + 1);
        task.sealedCount = 0;
        task.revealedCount = 0;
        task.roundOpenedAt = uint64(block.timestamp);
        if (task.currentRound == task.rounds) task.phaseAt = uint64(block.timestamp);
        emit RoundClosed(taskId, round, record, recordCid);
    }

    /// The owner's report: every contributor once, in ascending address order, each at
    /// least the floor, summing to the pool; within the report window.
    function reportContributions(
        uint256 taskId,
        bytes32 report,
        string calldata reportCid,
        address[] calldata who,
        uint256[] calldata amounts
    ) external {
        Task storage task = _finished(taskId);
        if (msg.sender != task.owner) revert NotOwner(msg.sender);
        Terms storage taskTerms = terms[taskId];
        if (block.timestamp >= uint256(task.phaseAt) + taskTerms.reportWindow) revert ReportWindowClosed();
        if (report == bytes32(0)) revert ZeroCommitment();
        if (who.length != amounts.length) revert InvalidParameters();
        if (who.length != task.contributors) revert MissingContributors(who.length, task.contributors);
        uint256 total = 0;
        address previous = address(0);
        for (uint256 i = 0; i < who.length; ++i) {
            if (who[i] <= previous) revert NotInOrder(who[i]);
            previous = who[i];
            Participant storage participant = participants[taskId][who[i]];
            if (participant.accepted == 0) revert NotContributor(who[i]);
            if (amounts[i] < taskTerms.floor) revert BelowFloor(who[i], amounts[i], taskTerms.floor);
            total += amounts[i];
            participant.owed = uint128(amounts[i]); // ≤ total ≤ pool < 2^129, checked below
        }
        uint256 available = pool(taskId);
        // With no contributors the report is empty (its total 0): the pool goes to the owner.
        if (task.contributors != 0 && total != available) revert WrongTotal(total, available);
        task.state = State.Reported;
        task.phaseAt = uint64(block.timestamp);
        contributionReports[taskId] = report;
        // Nobody to pay: the pool goes back to the owner.
        if (task.contributors == 0) task.ownerCredit = uint128(available);
        emit ContributionsReported(taskId, report, reportCid, total);
    }

    /// A contributor objects to the report; more than half of the contributors objecting
    /// replaces it with the default payout.
    function challenge(uint256 taskId) external {
        Task storage task = _known(taskId);
        if (task.state != State.Reported) revert TaskNotOpen();
        if (block.timestamp >= uint256(task.phaseAt) + terms[taskId].challengeWindow) revert ChallengeWindowClosed();
        Participant storage participant = participants[taskId][msg.sender];
        if (participant.accepted == 0) revert NotContributor(msg.sender);
        if (participant.challenged) revert AlreadyChallenged();
        participant.challenged = true;
        task.challenges += 1;
        emit ReportChallenged(taskId, msg.sender, task.challenges);
        if (uint256(task.challenges) * 2 > task.contributors) _default(task, taskId);
    }

    /// With no report by the end of the report window, anyone starts the default payout.
    function payoutDefault(uint256 taskId) external {
        Task storage task = _finished(taskId);
        if (block.timestamp < uint256(task.phaseAt) + terms[taskId].reportWindow) revert ReportWindowOpen();
        _default(task, taskId);
    }

    /// A task still training at its deadline expires (anyone may call this).
    function expire(uint256 taskId) external {
        Task storage task = _known(taskId);
        if (task.state != State.Open) revert TaskNotOpen();
        if (task.started && task.currentRound == task.rounds) revert TrainingFinished();
        if (block.timestamp < task.deadline) revert DeadlineNotPassed();
        task.state = State.Expired;
        Terms storage taskTerms = terms[taskId];
        // The floors of the contributors so far stay; the rest of the reward goes back. Every
        // stake goes back to its payer: an unfinished task is the owner's doing (it closes
        // the rounds), so nothing of it may pay the owner.
        uint256 credit = task.reward - uint256(taskTerms.floor) * task.contributors;
        task.ownerCredit = uint128(credit);
        emit TaskExpired(taskId, credit);
    }

    /// Pays what the caller is owed: a participant its reward and stake, the owner its credit.
    function claim(uint256 taskId) external {
        Task storage task = _known(taskId);
        uint256 amount = claimable(taskId, msg.sender);
        if (task.state == State.Reported && block.timestamp < uint256(task.phaseAt) + terms[taskId].challengeWindow) {
            revert ClaimsNotOpen(uint256(task.phaseAt) + terms[taskId].challengeWindow);
        }
        if (amount == 0) revert NothingToClaim();
        if (msg.sender == task.owner) {
            task.ownerCredit = 0;
        } else {
            participants[taskId][msg.sender].claimed = true;
        }
        emit RewardClaimed(taskId, msg.sender, amount);
        _pay(msg.sender, amount);
    }

    /// What `who` may claim now or once claims open (0 when nothing, or already claimed).
    function claimable(uint256 taskId, address who) public view returns (uint256) {
        Task storage task = _known(taskId);
        if (who == task.owner) return task.ownerCredit;
        Participant storage participant = participants[taskId][who];
        if (!participant.joined || participant.claimed) return 0;
        Terms storage taskTerms = terms[taskId];
        if (task.state == State.Expired) {
            return (participant.accepted > 0 ? uint256(taskTerms.floor) : 0) + taskTerms.stake;
        }
        // Without any contributor, nobody's stake is forfeited (else an owner who left every
        // update out would collect them all).
        if (task.contributors == 0) return task.state == State.Open ? 0 : taskTerms.stake;
        if (participant.accepted == 0) return 0;
        if (task.state == State.Reported) return uint256(participant.owed) + taskTerms.stake;
        if (task.state == State.Defaulted) {
            uint256 rest = pool(taskId) - uint256(taskTerms.floor) * task.contributors;
            return taskTerms.floor + rest * participant.accepted / task.acceptedTotal + taskTerms.stake;
        }
        return 0;
    }

    /// What the contributors share: the reward and the stakes of the participants without an
    /// accepted update (final once the last round has closed); without contributors, the
    /// reward alone (it goes back to the owner, the stakes to their payers).
    function pool(uint256 taskId) public view returns (uint256) {
        Task storage task = _known(taskId);
        if (task.contributors == 0) return task.reward;
        return uint256(task.reward) + uint256(terms[taskId].stake) * (task.participantCount - task.contributors);
    }

    /// The seal a participant commits for `digest` in `round`.
    function updateSeal(address participant, uint256 taskId, uint256 round, bytes32 digest)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(participant, taskId, round, digest));
    }

    /// Whether the current round of a started task reveals (every participant sealed, or the
    /// commit window passed).
    function revealing(uint256 taskId) external view returns (bool) {
        Task storage task = _known(taskId);
        return task.started && _revealing(task, taskId);
    }

    function getTask(uint256 taskId)
        external
        view
        returns (address owner, bytes32 spec, uint256 reward, uint256 rounds, uint256 currentRound, uint256 participantCount, uint256 maxParticipants, uint256 deadline, State state)
    {
        Task storage task = _known(taskId);
        return (task.owner, task.spec, task.reward, task.rounds, task.currentRound, task.participantCount, task.maxParticipants, task.deadline, task.state);
    }

    /// The fields getTask (kept as in v1) does not return.
    function getTaskRoles(uint256 taskId) external view returns (address aggregator, uint256 minParticipants, bool started) {
        Task storage task = _known(taskId);
        return (task.aggregator, task.minParticipants, task.started);
    }

    function getTaskTerms(uint256 taskId) external view returns (Terms memory) {
        _known(taskId);
        return terms[taskId];
    }

    /// Where the task's rounds and payout stand.
    function getTaskProgress(uint256 taskId)
        external
        view
        returns (uint256 contributors, uint256 acceptedTotal, uint256 sealedCount, uint256 revealedCount, uint256 roundOpenedAt, uint256 phaseAt, uint256 challenges, uint256 ownerCredit)
    {
        Task storage task = _known(taskId);
        return (task.contributors, task.acceptedTotal, task.sealedCount, task.revealedCount, task.roundOpenedAt, task.phaseAt, task.challenges, task.ownerCredit);
    }

    function _default(Task storage task, uint256 taskId) private {
        task.state = State.Defaulted;
        uint256 available = pool(taskId);
        if (task.contributors == 0) task.ownerCredit = uint128(available);
        emit DefaultPayout(taskId, available);
    }

    function _revealing(Task storage task, uint256 taskId) private view returns (bool) {
        return task.sealedCount == task.participantCount
            || block.timestamp >= uint256(task.roundOpenedAt) + terms[taskId].commitWindow;
    }

    function _admitted(bytes32 root, address who, bytes32[] calldata proof) private pure returns (bool) {
        bytes32 node = keccak256(bytes.concat(keccak256(abi.encode(who))));
        for (uint256 i = 0; i < proof.length; ++i) {
            bytes32 sibling = proof[i];
            node = node < sibling ? keccak256(abi.encode(node, sibling)) : keccak256(abi.encode(sibling, node));
        }
        return node == root;
    }

    function _known(uint256 taskId) private view returns (Task storage task) {
        task = tasks[taskId];
        if (task.state == State.None) revert UnknownTask(taskId);
    }

    function _open(uint256 taskId) private view returns (Task storage task) {
        task = _known(taskId);
        if (task.state != State.Open) revert TaskNotOpen();
        if (block.timestamp >= task.deadline) revert DeadlinePassed();
    }

    /// An open task whose last round has closed (the report or the default payout is next;
    /// the deadline no longer matters).
    function _finished(uint256 taskId) private view returns (Task storage task) {
        task = _known(taskId);
        if (task.state != State.Open) revert TaskNotOpen();
        if (!task.started || task.currentRound != task.rounds) revert TrainingNotFinished();
    }

    /// An open, started task whose current round is `round`.
    function _running(uint256 taskId, uint256 round) private view returns (Task storage task) {
        task = _open(taskId);
        if (!task.started) revert NotStarted();
        if (round != task.currentRound || round >= task.rounds) revert WrongRound(task.currentRound);
    }

    /// Sends value without copying what the recipient returns: a recipient that answers with
    /// a huge return (or revert) buffer cannot make its own claim run out of gas.
    function _pay(address to, uint256 amount) private {
        bool ok;
        assembly ("memory-safe") {
            ok := call(gas(), to, amount, 0, 0, 0, 0)
        }
        if (!ok) revert TransferFailed();
    }
}
