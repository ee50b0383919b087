// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title DataTransfer — the data escrow of seed 003 (Appendix A, Listing 1), one contract
/// holding every deal.
/// @notice A consumer escrows the price of a dataset for a provider; the provider answers
/// with the digests of the encrypted data and of its key wrapped to the consumer; the
/// consumer releases the payment, or cancels after expiry when nothing came; either side
/// can ask the authority to force a refund or a settlement.
/// @dev Gas is a product metric: a deal takes two storage slots, the digests live only in
/// events, and a closed deal's storage is cleared (the refund pays for the close). A
/// bytes32 is the sha2-256 digest carried by a CID (its multihash digest).
contract DataTransfer {
    /// The party that settles disputes (forced refund or settlement).
    address public immutable authority;
    /// Seconds a deal stays open for the provider to deliver, from initTransaction.
    uint256 public immutable duration;

    struct Deal {
        // slot 0
        address consumer;
        uint64 expirationTime;
        bool dataProvided;
        bool requestedForcefulRefund;
        bool requestedForcefulSettle;
        // slot 1
        address provider;
        uint96 price;
    }

    /// Identifier of the next deal; starts at 1 so that an id of 0 never names a deal and
    /// the counter's slot is never written from zero (which costs 20 000 gas).
    uint256 public nextDealId = 1;
    mapping(uint256 => Deal) private deals;

    event DealInitiated(
        uint256 indexed dealId,
        address indexed consumer,
        address indexed provider,
        bytes32 schema,
        bytes32 consumerPubKey,
        uint256 price,
        uint256 expirationTime
    );
    event DataProvided(uint256 indexed dealId, bytes32 encryptedKey, bytes32 data);
    event ForcefulRefundRequested(uint256 indexed dealId);
    event ForcefulSettleRequested(uint256 indexed dealId);
    /// The provider was paid: by the consumer's verifiedData, or forced by the authority.
    event DealSettled(uint256 indexed dealId, address indexed provider, uint256 amount, bool forced);
    /// The consumer got the escrow back: by cancel after expiry, or forced by the authority.
    event DealRefunded(uint256 indexed dealId, address indexed consumer, uint256 amount, bool forced);

    error UnknownDeal(uint256 dealId);
    error Unauthorized(address caller);
    error NoEtherProvided();
    error PriceTooLarge();
    error InvalidProvider();
    error DealExpired(uint256 expirationTime);
    error DealNotExpired(uint256 expirationTime);
    error DataAlreadyProvided();
    error DataNotProvided();
    error NoForcefulRefundRequested();
    error NoForcefulSettleRequested();
    error TransferFailed();

    constructor(address authority_, uint256 duration_) {
        authority = authority_ == address(0) ? msg.sender : authority_;
        duration = duration_;
    }

    function initTransaction(address provider, bytes32 schema, bytes32 consumerPubKey)
        external
        payable
        returns (uint256 dealId)
    {
        if (msg.value == 0) revert NoEtherProvided();
        if (msg.value > type(uint96).max) revert PriceTooLarge();
        if (provider == address(0) || provider == msg.sender) revert InvalidProvider();
        dealId = nextDealId;
        unchecked {
            nextDealId = dealId + 1;
        }
        uint64 expirationTime = uint64(block.timestamp + duration);
        deals[dealId] = Deal({
            consumer: msg.sender,
            expirationTime: expirationTime,
            dataProvided: false,
            requestedForcefulRefund: false,
            requestedForcefulSettle: false,
            provider: provider,
            price: uint96(msg.value)
        });
        emit DealInitiated(dealId, msg.sender, provider, schema, consumerPubKey, msg.value, expirationTime);
    }

    function provideData(uint256 dealId, bytes32 encryptedKey, bytes32 data) external {
        Deal storage deal = deals[dealId];
        if (msg.sender != deal.provider) _rejectCaller(deal, dealId);
        if (block.timestamp >= deal.expirationTime) revert DealExpired(deal.expirationTime);
        if (deal.dataProvided) revert DataAlreadyProvided();
        deal.dataProvided = true;
        emit DataProvided(dealId, encryptedKey, data);
    }

    function cancel(uint256 dealId) external {
        Deal storage deal = deals[dealId];
        if (msg.sender != deal.consumer) _rejectCaller(deal, dealId);
        if (deal.dataProvided) revert DataAlreadyProvided();
        if (block.timestamp < deal.expirationTime) revert DealNotExpired(deal.expirationTime);
        _refund(dealId, deal, false);
    }

    function verifiedData(uint256 dealId) external {
        Deal storage deal = deals[dealId];
        if (msg.sender != deal.consumer) _rejectCaller(deal, dealId);
        if (!deal.dataProvided) revert DataNotProvided();
        _settle(dealId, deal, false);
    }

    function requestForcefulRefund(uint256 dealId) external {
        Deal storage deal = deals[dealId];
        if (msg.sender != deal.consumer) _rejectCaller(deal, dealId);
        deal.requestedForcefulRefund = true;
        emit ForcefulRefundRequested(dealId);
    }

    function requestForcefulSettle(uint256 dealId) external {
        Deal storage deal = deals[dealId];
        if (msg.sender != deal.provider) _rejectCaller(deal, dealId);
        if (!deal.dataProvided) revert DataNotProvided();
        deal.requestedForcefulSettle = true;
        emit ForcefulSettleRequested(dealId);
    }

    function executeForcefulRefund(uint256 dealId) external {
        Deal storage deal = deals[dealId];
        if (msg.sender != authority) revert Unauthorized(msg.sender);
        if (deal.consumer == address(0)) revert UnknownDeal(dealId);
        if (!deal.requestedForcefulRefund) revert NoForcefulRefundRequested();
        _refund(dealId, deal, true);
    }

    function executeForcefulSettle(uint256 dealId) external {
        Deal storage deal = deals[dealId];
        if (msg.sender != authority) revert Unauthorized(msg.sender);
        if (deal.consumer == address(0)) revert UnknownDeal(dealId);
        if (!deal.requestedForcefulSettle) revert NoForcefulSettleRequested();
        _settle(dealId, deal, true);
    }

    /// The whole deal, for clients and tests (the seed's public variables, per deal).
    function getDeal(uint256 dealId)
        external
        view
        returns (
            address consumer,
            address provider,
            uint256 price,
            uint256 expirationTime,
            bool dataProvided,
            bool requestedForcefulRefund,
            bool requestedForcefulSettle
        )
    {
        Deal storage deal = deals[dealId];
        return (
            deal.consumer,
            deal.provider,
            deal.price,
            deal.expirationTime,
            deal.dataProvided,
            deal.requestedForcefulRefund,
            deal.requestedForcefulSettle
        );
    }

    /// Reverts for a caller that is not the party a function needs: UnknownDeal when the
    /// deal does not exist (or is closed), Unauthorized otherwise. Only read on failure.
    function _rejectCaller(Deal storage deal, uint256 dealId) private view {
        if (deal.consumer == address(0)) revert UnknownDeal(dealId);
        revert Unauthorized(msg.sender);
    }

    function _settle(uint256 dealId, Deal storage deal, bool forced) private {
        address provider = deal.provider;
        uint256 amount = deal.price;
        delete deals[dealId];
        emit DealSettled(dealId, provider, amount, forced);
        _pay(provider, amount);
    }

    function _refund(uint256 dealId, Deal storage deal, bool forced) private {
        address consumer = deal.consumer;
        uint256 amount = deal.price;
        delete deals[dealId];
        emit DealRefunded(dealId, consumer, amount, forced);
        _pay(consumer, amount);
    }

    // State is cleared before the call (checks-effects-interactions), so a re-entering
    // recipient finds no deal.
    function _pay(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }
}
