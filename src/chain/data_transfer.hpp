#pragma once
// Typed binding of the DataTransfer escrow (contracts/DataTransfer.sol) and its events.
#include <variant>

#include "chain/contract.hpp"

namespace cairn::chain {

struct Deal {
  Address consumer;
  Address provider;
  U256 price;
  std::uint64_t expiration_time = 0;
  bool data_provided = false;
  bool requested_forceful_refund = false;
  bool requested_forceful_settle = false;
  // Closed deals (settled, refunded) are deleted from storage.
  bool exists() const { return !consumer.is_zero(); }
};

struct DealInitiated {
  U256 deal_id;
  Address consumer;
  Address provider;
  ByteArray<32> schema{};
  ByteArray<32> consumer_pub_key{};
  U256 price;
  std::uint64_t expiration_time = 0;
};
struct DataProvided {
  U256 deal_id;
  ByteArray<32> encrypted_key{};
  ByteArray<32> data{};
};
struct ForcefulRefundRequested {
  U256 deal_id;
};
struct ForcefulSettleRequested {
  U256 deal_id;
};
struct DealSettled {
  U256 deal_id;
  Address provider;
  U256 amount;
  bool forced = false;
};
struct DealRefunded {
  U256 deal_id;
  Address consumer;
  U256 amount;
  bool forced = false;
};
using DataTransferEvent = std::variant<DealInitiated, DataProvided, ForcefulRefundRequested,
                                       ForcefulSettleRequested, DealSettled, DealRefunded>;

// Decodes one DataTransfer log into its typed event (fails for other contracts' logs).
Result<DataTransferEvent> decode_data_transfer_event(const Log& log);

class DataTransfer {
 public:
  explicit DataTransfer(Contract contract) : contract_(std::move(contract)) {}
  // `authority` none: the deployer. `duration`: seconds each deal stays open for delivery.
  static Result<DataTransfer> deploy(std::shared_ptr<TransactionSender> sender,
                                     const Signer& deployer, std::optional<Address> authority,
                                     std::uint64_t duration_seconds);
  static Result<DataTransfer> at(std::shared_ptr<TransactionSender> sender, const Address& address);

  const Contract& contract() const { return contract_; }
  const Address& address() const { return contract_.address(); }

  struct Initiated {
    U256 deal_id;
    SentTransaction tx;
  };
  Result<Initiated> init_transaction(const Signer& consumer, const Address& provider,
                                     const ByteArray<32>& schema,
                                     const ByteArray<32>& consumer_pub_key,
                                     const U256& price) const;
  Result<SentTransaction> provide_data(const Signer& provider, const U256& deal_id,
                                       const ByteArray<32>& encrypted_key,
                                       const ByteArray<32>& data) const;
  Result<SentTransaction> verified_data(const Signer& consumer, const U256& deal_id) const;
  Result<SentTransaction> cancel(const Signer& consumer, const U256& deal_id) const;
  Result<SentTransaction> request_forceful_refund(const Signer& consumer,
                                                  const U256& deal_id) const;
  Result<SentTransaction> request_forceful_settle(const Signer& provider,
                                                  const U256& deal_id) const;
  Result<SentTransaction> execute_forceful_refund(const Signer& authority,
                                                  const U256& deal_id) const;
  Result<SentTransaction> execute_forceful_settle(const Signer& authority,
                                                  const U256& deal_id) const;

  Result<Deal> deal(const U256& deal_id) const;
  Result<Address> authority() const;
  Result<std::uint64_t> duration() const;

 private:
  Contract contract_;
};

}  // namespace cairn::chain
