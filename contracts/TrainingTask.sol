// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title TrainingTask — federated training tasks with an escrowed reward pool.
/// @notice A model provider publishes a task (the digest of its specification: initial
/// model, test-data commitment, schema, aggregation rule, HE public key), escrowing the
/// reward. Participants join before the deadline; each round every participant commits
/// its update and the owner commits the aggregate, which closes the round. When the last
/// round is aggregated the owner reports contributions (the report's digest and each
/// participant's reward); participants then claim. A task not finished by its deadline
/// can be refunded to its owner. Rewards are pulled, never pushed, so no function loops
/// over an unbounded set: reportContributions loops over its own arguments only, bounded
/// by maxParticipants.
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
        uint8 currentRound; // rounds aggregated so far
        uint16 participantCount;
        uint128 reward;
        // slot 2
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
    /// aggregateCommitments[task][round]
    mapping(uint256 => mapping(uint256 => bytes32)) public aggregateCommitments;
    mapping(uint256 => bytes32) public contributionReports;

    event TaskCreated(uint256 indexed taskId, address indexed owner, bytes32 spec, uint256 reward, uint256 rounds, uint256 maxParticipants, uint256 deadline);
    event ParticipantJoined(uint256 indexed taskId, address indexed participant);
    event UpdateCommitted(uint256 indexed taskId, uint256 indexed round, address indexed participant, bytes32 commitment);
    event AggregateCommitted(uint256 indexed taskId, uint256 indexed round, bytes32 commitment);
    event ContributionsReported(uint256 indexed taskId, bytes32 report, uint256 totalPaid);
    event RewardClaimed(uint256 indexed taskId, address indexed participant, uint256 amount);
    event TaskRefunded(uint256 indexed taskId, uint256 amount);

    error UnknownTask(uint256 taskId);
    error NotOwner(address caller);
    error NotParticipant(address caller);
    error InvalidParameters();
    error TaskNotOpen();
    error DeadlinePassed();
    error DeadlineNotPassed();
    error TaskFull();
    error AlreadyJoined();
    error WrongRound(uint256 expected);
    error AlreadyCommitted();
    error TrainingNotFinished();
    error LengthMismatch();
    error RewardExceeded(uint256 total, uint256 reward);
    error NothingToClaim();
    error TransferFailed();

    function createTask(bytes32 spec, uint8 rounds, uint16 maxParticipants, uint64 deadline)
        external
        payable
        returns (uint256 taskId)
    {
        if (rounds == 0 || maxParticipants == 0 || deadline <= block.timestamp || spec == bytes32(0)) {
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
            currentRound: 0,
            participantCount: 0,
            reward: uint128(msg.value),
            spec: spec
        });
        emit TaskCreated(taskId, msg.sender, spec, msg.value, rounds, maxParticipants, deadline);
    }

    function join(uint256 taskId) external {
        Task storage task = _open(taskId);
        if (task.currentRound != 0) revert TaskNotOpen();
        if (task.participantCount >= task.maxParticipants) revert TaskFull();
        Participant storage participant = participants[taskId][msg.sender];
        if (participant.joined) revert AlreadyJoined();
        participant.joined = true;
        task.participantCount += 1;
        emit ParticipantJoined(taskId, msg.sender);
    }

    /// `round` counts from 0; it must be the round being trained now.
    function submitUpdate(uint256 taskId, uint256 round, bytes32 commitment) external {
        Task storage task = _open(taskId);
        if (!participants[taskId][msg.sender].joined) revert NotParticipant(msg.sender);
        if (round != task.currentRound || round >= task.rounds) revert WrongRound(task.currentRound);
        if (updateCommitments[taskId][round][msg.sender] != bytes32(0)) revert AlreadyCommitted();
        updateCommitments[taskId][round][msg.sender] = commitment;
        emit UpdateCommitted(taskId, round, msg.sender, commitment);
    }

    function submitAggregate(uint256 taskId, uint256 round, bytes32 commitment) external {
        Task storage task = _open(taskId);
        if (msg.sender != task.owner) revert NotOwner(msg.sender);
        if (round != task.currentRound || round >= task.rounds) revert WrongRound(task.currentRound);
        aggregateCommitments[taskId][round] = commitment;
        task.currentRound = uint8(round + 1);
        emit AggregateCommitted(taskId, round, commitment);
    }

    /// Records each participant's reward; what is left of the pool goes back to the owner.
    function reportContributions(uint256 taskId, bytes32 report, address[] calldata who, uint256[] calldata amounts)
        external
    {
        Task storage task = _open(taskId);
        if (msg.sender != task.owner) revert NotOwner(msg.sender);
        if (task.currentRound != task.rounds) revert TrainingNotFinished();
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
        emit ContributionsReported(taskId, report, total);
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
        Task storage task = tasks[taskId];
        if (task.state == State.None) revert UnknownTask(taskId);
        return (task.owner, task.spec, task.reward, task.rounds, task.currentRound, task.participantCount, task.maxParticipants, task.deadline, task.state);
    }

    function _open(uint256 taskId) private view returns (Task storage task) {
        task = tasks[taskId];
        if (task.state == State.None) revert UnknownTask(taskId);
        if (task.state != State.Open) revert TaskNotOpen();
        if (block.timestamp >= task.deadline) revert DeadlinePassed();
    }

    function _pay(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }
}
