#include "chain/contract.hpp"

#include <map>
#include <mutex>

#include "base/encoding.hpp"

namespace cairn::chain {

Result<std::shared_ptr<const abi::ContractAbi>> embedded_abi(std::string_view name) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const abi::ContractAbi>, std::less<>> cache;
  std::lock_guard guard(mutex);
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  CAIRN_TRY_ASSIGN(ContractArtifact artifact, find_contract(name));
  CAIRN_TRY_ASSIGN(abi::ContractAbi parsed, abi::ContractAbi::parse(artifact.abi_json));
  auto shared = std::make_shared<const abi::ContractAbi>(std::move(parsed));
  cache.emplace(std::string(name), shared);
  return shared;
}

Result<Contract> Contract::deploy(std::shared_ptr<TransactionSender> sender, const Signer& signer,
                                  std::string_view name, const abi::ValueList& constructor_args) {
  CAIRN_TRY_ASSIGN(ContractArtifact artifact, find_contract(name));
  CAIRN_TRY_ASSIGN(auto abi, embedded_abi(name));
  CAIRN_TRY_ASSIGN(Bytes code, from_hex(artifact.bytecode_hex, true));
  if (abi->constructor()) {
    CAIRN_TRY_ASSIGN(Bytes args,
                     abi::encode(abi::types_of(abi->constructor()->inputs), constructor_args));
    append(code, args);
  } else if (!constructor_args.empty()) {
    return fail(Errc::invalid_argument, std::string(name) + " takes no constructor arguments");
  }
  SendRequest request;
  request.data = std::move(code);
  request.abi = abi.get();
  auto sent = sender->send(signer, request);
  if (!sent)
    return std::unexpected(std::move(sent).error().context("deploying " + std::string(name)));
  if (!sent->receipt.contract_address) {
    return fail(Errc::parse,
                "deploying " + std::string(name) + ": receipt has no contract address");
  }
  return Contract(std::move(sender), *sent->receipt.contract_address, std::move(abi));
}

Result<Contract> Contract::at(std::shared_ptr<TransactionSender> sender, std::string_view name,
                              const Address& address) {
  CAIRN_TRY_ASSIGN(auto abi, embedded_abi(name));
  CAIRN_TRY_ASSIGN(Bytes code, sender->rpc().code(address));
  if (code.empty()) {
    return fail(Errc::not_found, "no contract at " + address.to_checksum() + " on " +
                                     sender->rpc().redacted_url() +
                                     " (deploy with `cairn chain deploy`)");
  }
  return Contract(std::move(sender), address, std::move(abi));
}

Result<Bytes> Contract::encode(std::string_view function, const abi::ValueList& args) const {
  const abi::Function* f = abi_->function(function);
  if (!f)
    return fail(Errc::invalid_argument, "contract has no function '" + std::string(function) + "'");
  return f->encode_call(args);
}

Result<abi::ValueList> Contract::call(std::string_view function, const abi::ValueList& args,
                                      std::optional<Address> from) const {
  CAIRN_TRY_ASSIGN(Bytes data, encode(function, args));
  auto output = sender_->call(CallRequest{from, address_, std::move(data), {}, {}}, abi_.get());
  if (!output) return std::unexpected(std::move(output).error().context(std::string(function)));
  return abi_->function(function)->decode_output(*output);
}

Result<SentTransaction> Contract::transact(const Signer& signer, std::string_view function,
                                           const abi::ValueList& args, U256 value,
                                           std::optional<std::uint64_t> gas_limit) const {
  CAIRN_TRY_ASSIGN(Bytes data, encode(function, args));
  SendRequest request{address_, std::move(data), value, gas_limit, abi_.get()};
  auto sent = sender_->send(signer, request);
  if (!sent) return std::unexpected(std::move(sent).error().context(std::string(function)));
  return sent;
}

Result<abi::ValueList> Contract::event_in(const Receipt& receipt, std::string_view event) const {
  const abi::Event* e = abi_->event(event);
  if (!e) return fail(Errc::invalid_argument, "contract has no event '" + std::string(event) + "'");
  for (const auto& log : receipt.logs) {
    if (log.address == address_ && !log.topics.empty() && log.topics[0] == e->topic0()) {
      return e->decode_log(log.topics, log.data);
    }
  }
  return fail(Errc::not_found, "transaction emitted no " + std::string(event) + " event");
}

}  // namespace cairn::chain
