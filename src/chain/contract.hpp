#pragma once
// A deployed contract: its address and ABI, with calls and transactions by function name.
#include <memory>
#include <string_view>

#include "chain/abi.hpp"
#include "chain/contracts.hpp"
#include "chain/sender.hpp"

namespace cairn::chain {

class Contract {
 public:
  Contract(std::shared_ptr<TransactionSender> sender, Address address,
           std::shared_ptr<const abi::ContractAbi> abi)
      : sender_(std::move(sender)), address_(address), abi_(std::move(abi)) {}

  // Deploys an embedded contract (contracts/*.sol) with constructor arguments.
  static Result<Contract> deploy(std::shared_ptr<TransactionSender> sender, const Signer& signer,
                                 std::string_view name,
                                 const abi::ValueList& constructor_args = {});
  // Binds an embedded contract's ABI to an address (checking that code is there).
  static Result<Contract> at(std::shared_ptr<TransactionSender> sender, std::string_view name,
                             const Address& address);

  const Address& address() const { return address_; }
  const abi::ContractAbi& abi() const { return *abi_; }
  const std::shared_ptr<TransactionSender>& sender() const { return sender_; }

  Result<abi::ValueList> call(std::string_view function, const abi::ValueList& args = {},
                              std::optional<Address> from = {}) const;
  Result<SentTransaction> transact(const Signer& signer, std::string_view function,
                                   const abi::ValueList& args = {}, U256 value = {},
                                   std::optional<std::uint64_t> gas_limit = {}) const;
  Result<Bytes> encode(std::string_view function, const abi::ValueList& args) const;

  // The first event named `event` that this contract emitted in `receipt`.
  Result<abi::ValueList> event_in(const Receipt& receipt, std::string_view event) const;

 private:
  std::shared_ptr<TransactionSender> sender_;
  Address address_;
  std::shared_ptr<const abi::ContractAbi> abi_;
};

// The parsed ABI of an embedded contract (parsed once, shared).
Result<std::shared_ptr<const abi::ContractAbi>> embedded_abi(std::string_view name);

}  // namespace cairn::chain
