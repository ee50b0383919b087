// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title TrainingTask (v2) — federated training tasks with an escrowed reward pool.
/// @notice A model provider publishes a task (the digest of its specification and, in the
/// event, the specification's CID: initial model, test-data commitment, schema, aggregation
/// rule, HE public key), names the aggregator and escrows the reward. Data providers join
/// with their dataset manifest; the owner starts the task once enough have joined. Each
/// round every participant commits its update, the aggregator posts the aggregate, and the
/// owner closes the round with the round record (what was included, excluded and why, the
/// resulting model). After the last round the owner reports contributions (the report's
/// digest and each participant's reward); participants then claim. A task not finished by
/// its deadline can be refunded to its owner.
///
/// Commitments are bytes32 digests of artifacts held in content-addressed stores; the CIDs
/// travel in events only (where a node learns what to fetch), the digests stay in storage
/// (what a node checks what it fetched against). Rewards are pulled, never pushed, so no
/// function loops over an unbounded set: reportContributions loops over its own arguments
/// only, bounded by the number of participants.
contract TrainingTask {
    enum State {
        None,
        Open,
        Reported,
        Refunded
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
        // slot 2
        uint128 reward;
        // slot 3
        bytes32 spec;
    }

    struct Participant {
        bool joined;
        bool claimed;
        uint128 owed;
    }

    uint256 public nextTaskId = 1;
    mapping(uint256 => Task) private tasks;
    mapping(uint256 => mapping(address => Participant)) public participants;
    /// updateCommitments[task][round][participant]
    mapping(uint256 => mapping(uint256 => mapping(address => bytes32))) public updateCommitments;
    /// aggregateCommitments[task][round]: what the aggregator posted
    mapping(uint256 => mapping(uint256 => bytes32)) public aggregateCommitments;
    /// roundRecords[task][round]: the owner's record of the closed round
    mapping(uint256 => mapping(uint256 => bytes32)) public roundRecords;
    mapping(uint256 => bytes32) public contributionReports;

    event TaskCreated(uint256 indexed taskId, address indexed owner, bytes32 spec, string specCid, address aggregator, uint256 reward, uint256 rounds, uint256 deadline);
    event ParticipantJoined(uint256 indexed taskId, address indexed participant, bytes32 manifest, string manifestCid);
    event TaskStarted(uint256 indexed taskId, uint256 participants);
    event UpdateCommitted(uint256 indexed taskId, uint256 indexed round, address indexed participant, bytes32 commitment, string cid);
    event AggregatePosted(uint256 indexed taskId, uint256 indexed round, bytes32 commitment, string cid);
    event RoundClosed(uint256 indexed taskId, uint256 indexed round, bytes32 record, string recordCid);
    event ContributionsReported(uint256 indexed taskId, bytes32 report, string reportCid, uint256 totalPaid);
    event RewardClaimed(uint256 indexed taskId, address indexed participant, uint256 amount);
    event TaskRefunded(uint256 indexed taskId, uint256 amount);

    error UnknownTask(uint256 taskId);
    error NotOwner(address caller);
    error NotAggregator(address caller);
    error NotParticipant(address caller);
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
    error TrainingNotFinished();
    error LengthMismatch();
    error RewardExceeded(uint256 total, uint256 reward);
    error NothingToClaim();
    error TransferFailed();

    function createTask(
        bytes32 spec,
        string calldata specCid,
        uint8 rounds,
        uint16 maxParticipants,
        uint16 minParticipants,
        uint64 deadline,
        address aggregator
    ) external payable returns (uint256 taskId) {
        if (
            rounds == 0 || maxParticipants == 0 || minParticipants == 0 || minParticipants > maxParticipants
                || deadline <= block.timestamp || spec == bytes32(0) || aggregator == address(0)
        ) {
            revert InvalidParameters();
        }
        if (msg.value > type(uint128).max) revert InvalidParameters();
        taskId = nextTaskId;
        unchecked {
            nextTaskId = taskId + 1;
        }
        tasks[taskId] = Task({
            owner: msg.sender,
            deadline: deadline,
            state: State.Open,
            maxParticipants: maxParticipants,
            rounds: rounds,
            aggregator: aggregator,
            currentRound: 0,
            participantCount: 0,
            minParticipants: minParticipants,
            started: false,
            reward: uint128(msg.value),
            spec: spec
        });
        emit TaskCreated(taskId, msg.sender, spec, specCid, aggregator, msg.value, rounds, deadline);
    }

    /// Joins with the digest of the participant's dataset manifest (its CID in the event).
    function join(uint256 taskId, bytes32 manifest, string calldata manifestCid) external {
        Task storage task = _open(taskId);
        if (task.started) revert AlreadyStarted();
        if (manifest == bytes32(0)) revert ZeroCommitment();
        if (task.participantCount >= task.maxParticipants) revert TaskFull();
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
        emit TaskStarted(taskId, task.participantCount);
    }

    /// `round` counts from 0; it must be the round being trained now.
    function submitUpdate(uint256 taskId, uint256 round, bytes32 commitment, string calldata cid) external {
        _running(taskId, round);
        if (!participants[taskId][msg.sender].joined) revert NotParticipant(msg.sender);
        if (commitment == bytes32(0)) revert ZeroCommitment();
        if (updateCommitments[taskId][round][msg.sender] != bytes32(0)) revert AlreadyCommitted();
        updateCommitments[taskId][round][msg.sender] = commitment;
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
    /// opens the next round. The aggregate need not have been posted: a round whose
    /// aggregator failed is closed with the owner's own sum, and the record says so.
    function closeRound(uint256 taskId, uint256 round, bytes32 record, string calldata recordCid) external {
        Task storage task = _running(taskId, round);
        if (msg.sender != task.owner) revert NotOwner(msg.sender);
        if (record == bytes32(0)) revert ZeroCommitment();
        roundRecords[taskId][round] = record;
        task.currentRound = uint8(round + 1);
        emit RoundClosed(taskId, round, record, recordCid);
    }

    /// Records each participant's reward; what is left of the pool goes back to the owner.
    function reportContributions(
        uint256 taskId,
        bytes32 report,
        string calldata reportCid,
        address[] calldata who,
        uint256[] calldata amounts
    ) external {
        Task storage task = _open(taskId);
        if (msg.sender != task.owner) revert NotOwner(msg.sender);
        if (!task.started || task.currentRound != task.rounds) revert TrainingNotFinished();
        if (report == bytes32(0)) revert ZeroCommitment();
        if (who.length != amounts.length) revert LengthMismatch();
        if (who.length > task.participantCount) revert LengthMismatch();
        uint256 total = 0;
        for (uint256 i = 0; i < who.length; ++i) {
            Participant storage participant = participants[taskId][who[i]];
            if (!participant.joined) revert NotParticipant(who[i]);
            total += amounts[i];
            participant.owed += uint128(amounts[i]);
        }
        if (total > task.reward) revert RewardExceeded(total, task.reward);
        task.state = State.Reported;
        contributionReports[taskId] = report;
        emit ContributionsReported(taskId, report, reportCid, total);
        uint256 remainder = task.reward - total;
        if (remainder > 0) _pay(task.owner, remainder);
    }

    function claim(uint256 taskId) external {
        Task storage task = tasks[taskId];
        if (task.state != State.Reported) revert TaskNotOpen();
        Participant storage participant = participants[taskId][msg.sender];
        uint256 amount = participant.owed;
        if (amount == 0 || participant.claimed) revert NothingToClaim();
        participant.claimed = true;
        participant.owed = 0;
        emit RewardClaimed(taskId, msg.sender, amount);
        _pay(msg.sender, amount);
    }

    /// After the deadline, a task whose contributions were never reported returns its
    /// whole reward to the owner.
    function refundExpired(uint256 taskId) external {
        Task storage task = tasks[taskId];
        if (task.state == State.None) revert UnknownTask(taskId);
        if (task.state != State.Open) revert TaskNotOpen();
        if (msg.sender != task.owner) revert NotOwner(msg.sender);
        if (block.timestamp < task.deadline) revert DeadlineNotPassed();
        task.state = State.Refunded;
        uint256 amount = task.reward;
        emit TaskRefunded(taskId, amount);
        _pay(task.owner, amount);
    }

    function getTask(uint256 taskId)
        external
        view
        returns (address owner, bytes32 spec, uint256 reward, uint256 rounds, uint256 currentRound, uint256 participantCount, uint256 maxParticipants, uint256 deadline, State state)
    {
        Task storage task = _known(taskId);
        return (task.owner, task.spec, task.reward, task.rounds, task.currentRound, task.participantCount, task.maxParticipants, task.deadline, task.state);
    }

    /// The v2 fields getTask (kept as in v1) does not return.
    function getTaskRoles(uint256 taskId) external view returns (address aggregator, uint256 minParticipants, bool started) {
        Task storage task = _known(taskId);
        return (task.aggregator, task.minParticipants, task.started);
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

    /// An open, started task whose current round is `round`.
    function _running(uint256 taskId, uint256 round) private view returns (Task storage task) {
        task = _open(taskId);
        if (!task.started) revert NotStarted();
        if (round != task.currentRound || round >= task.rounds) revert WrongRound(task.currentRound);
    }

    function _pay(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }
}
