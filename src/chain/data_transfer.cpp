#include "chain/data_transfer.hpp"

namespace cairn::chain {
namespace {

Result<std::uint64_t> small(const abi::Value& value) {
  CAIRN_TRY_ASSIGN(U256 v, value.as_uint());
  if (!v.fits_u64()) return fail(Errc::parse, "value does not fit in 64 bits");
  return v.low64();
}

}  // namespace

Result<DataTransferEvent> decode_data_transfer_event(const Log& log) {
  CAIRN_TRY_ASSIGN(auto abi, embedded_abi("DataTransfer"));
  if (log.topics.empty()) return fail(Errc::parse, "DataTransfer log without topics");
  const abi::Event* event = abi->event_by_topic(log.topics[0]);
  if (!event) return fail(Errc::not_found, "log is not a DataTransfer event");
  CAIRN_TRY_ASSIGN(abi::ValueList v, event->decode_log(log.topics, log.data));
  const std::string& name = event->name;
  if (name == "DealInitiated") {
    DealInitiated e;
    CAIRN_TRY_ASSIGN(e.deal_id, v[0].as_uint());
    CAIRN_TRY_ASSIGN(e.consumer, v[1].as_address());
    CAIRN_TRY_ASSIGN(e.provider, v[2].as_address());
    CAIRN_TRY_ASSIGN(e.schema, v[3].as_bytes32());
    CAIRN_TRY_ASSIGN(e.consumer_pub_key, v[4].as_bytes32());
    CAIRN_TRY_ASSIGN(e.price, v[5].as_uint());
    CAIRN_TRY_ASSIGN(e.expiration_time, small(v[6]));
    return e;
  }
  if (name == "DataProvided") {
    DataProvided e;
    CAIRN_TRY_ASSIGN(e.deal_id, v[0].as_uint());
    CAIRN_TRY_ASSIGN(e.encrypted_key, v[1].as_bytes32());
    CAIRN_TRY_ASSIGN(e.data, v[2].as_bytes32());
    return e;
  }
  if (name == "ForcefulRefundRequested") {
    ForcefulRefundRequested e;
    CAIRN_TRY_ASSIGN(e.deal_id, v[0].as_uint());
    return e;
  }
  if (name == "ForcefulSettleRequested") {
    ForcefulSettleRequested e;
    CAIRN_TRY_ASSIGN(e.deal_id, v[0].as_uint());
    return e;
  }
  if (name == "DealSettled") {
    DealSettled e;
    CAIRN_TRY_ASSIGN(e.deal_id, v[0].as_uint());
    CAIRN_TRY_ASSIGN(e.provider, v[1].as_address());
    CAIRN_TRY_ASSIGN(e.amount, v[2].as_uint());
    CAIRN_TRY_ASSIGN(e.forced, v[3].as_bool());
    return e;
  }
  if (name == "DealRefunded") {
    DealRefunded e;
    CAIRN_TRY_ASSIGN(e.deal_id, v[0].as_uint());
    CAIRN_TRY_ASSIGN(e.consumer, v[1].as_address());
    CAIRN_TRY_ASSIGN(e.amount, v[2].as_uint());
    CAIRN_TRY_ASSIGN(e.forced, v[3].as_bool());
    return e;
  }
  return fail(Errc::unsupported, "unknown DataTransfer event " + name);
}

Result<DataTransfer> DataTransfer::deploy(std::shared_ptr<TransactionSender> sender,
                                          const Signer& deployer, std::optional<Address> authority,
                                          std::uint64_t duration_seconds) {
  CAIRN_TRY_ASSIGN(Contract contract, Contract::deploy(std::move(sender), deployer, "DataTransfer",
                                                       {abi::Value(authority.value_or(Address{})),
                                                        abi::Value(duration_seconds)}));
  return DataTransfer(std::move(contract));
}

Result<DataTransfer> DataTransfer::at(std::shared_ptr<TransactionSender> sender,
                                      const Address& address) {
  CAIRN_TRY_ASSIGN(Contract contract, Contract::at(std::move(sender), "DataTransfer", address));
  return DataTransfer(std::move(contract));
}

Result<DataTransfer::Initiated> DataTransfer::init_transaction(
    const Signer& consumer, const Address& provider, const ByteArray<32>& schema,
    const ByteArray<32>& consumer_pub_key, const U256& price) const {
  CAIRN_TRY_ASSIGN(SentTransaction tx, contract_.transact(consumer, "initTransaction",
                                                          {abi::Value(provider), abi::Value(schema),
                                                           abi::Value(consumer_pub_key)},
                                                          price));
  CAIRN_TRY_ASSIGN(abi::ValueList event, contract_.event_in(tx.receipt, "DealInitiated"));
  CAIRN_TRY_ASSIGN(U256 deal_id, event[0].as_uint());
  return Initiated{deal_id, std::move(tx)};
}

Result<SentTransaction> DataTransfer::provide_data(const Signer& provider, const U256& deal_id,
                                                   const ByteArray<32>& encrypted_key,
                                                   const ByteArray<32>& data) const {
  return contract_.transact(provider, "provideData",
                            {abi::Value(deal_id), abi::Value(encrypted_key), abi::Value(data)});
}
Result<SentTransaction> DataTransfer::verified_data(const Signer& consumer,
                                                    const U256& deal_id) const {
  return contract_.transact(consumer, "verifiedData", {abi::Value(deal_id)});
}
Result<SentTransaction> DataTransfer::cancel(const Signer& consumer, const U256& deal_id) const {
  return contract_.transact(consumer, "cancel", {abi::Value(deal_id)});
}
Result<SentTransaction> DataTransfer::request_forceful_refund(const Signer& consumer,
                                                              const U256& deal_id) const {
  return contract_.transact(consumer, "requestForcefulRefund", {abi::Value(deal_id)});
}
Result<SentTransaction> DataTransfer::request_forceful_settle(const Signer& provider,
                                                              const U256& deal_id) const {
  return contract_.transact(provider, "requestForcefulSettle", {abi::Value(deal_id)});
}
Result<SentTransaction> DataTransfer::execute_forceful_refund(const Signer& authority,
                                                              const U256& deal_id) const {
  return contract_.transact(authority, "executeForcefulRefund", {abi::Value(deal_id)});
}
Result<SentTransaction> DataTransfer::execute_forceful_settle(const Signer& authority,
                                                              const U256& deal_id) const {
  return contract_.transact(authority, "executeForcefulSettle", {abi::Value(deal_id)});
}

Result<Deal> DataTransfer::deal(const U256& deal_id) const {
  CAIRN_TRY_ASSIGN(abi::ValueList v, contract_.call("getDeal", {abi::Value(deal_id)}));
  Deal deal;
  CAIRN_TRY_ASSIGN(deal.consumer, v[0].as_address());
  CAIRN_TRY_ASSIGN(deal.provider, v[1].as_address());
  CAIRN_TRY_ASSIGN(deal.price, v[2].as_uint());
  CAIRN_TRY_ASSIGN(deal.expiration_time, small(v[3]));
  CAIRN_TRY_ASSIGN(deal.data_provided, v[4].as_bool());
  CAIRN_TRY_ASSIGN(deal.requested_forceful_refund, v[5].as_bool());
  CAIRN_TRY_ASSIGN(deal.requested_forceful_settle, v[6].as_bool());
  return deal;
}

Result<Address> DataTransfer::authority() const {
  CAIRN_TRY_ASSIGN(abi::ValueList v, contract_.call("authority"));
  return v[0].as_address();
}

Result<std::uint64_t> DataTransfer::duration() const {
  CAIRN_TRY_ASSIGN(abi::ValueList v, contract_.call("duration"));
  return small(v[0]);
}

}  // namespace cairn::chain
