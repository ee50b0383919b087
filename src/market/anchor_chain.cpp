#include "market/anchor_chain.hpp"

#include <fmt/format.h>

#include "base/encoding.hpp"

namespace cairn::market {

Result<ByteArray<32>> anchor_word(const seal::Imprint& root) {
  if (root.empty()) return fail(Errc::invalid_argument, "the calendar root is empty");
  if (root.algorithm() != seal::HashId::sha2_256 || root.digest().size() != 32) {
    return fail(Errc::unsupported,
                fmt::format("the Anchor contract holds SHA-256 roots; this root uses hash id {}",
                            root.algorithm_byte()));
  }
  ByteArray<32> word{};
  std::copy(root.digest().begin(), root.digest().end(), word.begin());
  return word;
}

Result<std::unique_ptr<ChainAnchor>> ChainAnchor::deploy(
    std::shared_ptr<chain::TransactionSender> sender, const chain::Signer& signer) {
  CAIRN_TRY_ASSIGN(chain::Contract contract,
                   chain::Contract::deploy(std::move(sender), signer, "Anchor"));
  return std::make_unique<ChainAnchor>(std::move(contract), signer);
}

Result<seal::AnchorReceipt> ChainAnchor::anchor(std::uint64_t publication_time,
                                                const seal::Imprint& root) {
  CAIRN_TRY_ASSIGN(ByteArray<32> word, anchor_word(root));
  CAIRN_TRY_ASSIGN(
      chain::SentTransaction sent,
      contract_.transact(signer_, "publish",
                         {chain::abi::Value(publication_time), chain::abi::Value(word)}));
  // An identical earlier publication makes publish() a no-op without an event; a root
  // that is not the one we sent never gets here (the contract reverts).
  auto event = contract_.event_in(sent.receipt, "Published");
  if (event) {
    CAIRN_TRY_ASSIGN(ByteArray<32> logged, (*event)[2].as_bytes32());
    if (logged != word) {
      return fail(Errc::integrity, "the Published event carries a different root");
    }
  }
  AnchoredPublication record;
  record.publication_time = publication_time;
  record.root = root;
  record.chain_id = contract_.sender()->chain_id();
  record.contract = contract_.address();
  record.signer = signer_.address;
  record.transaction = sent.receipt.transaction_hash;
  record.block = sent.receipt.block_number;
  anchored_.push_back(record);
  seal::AnchorReceipt receipt;
  receipt.ledger = fmt::format("eip155:{}", record.chain_id);
  receipt.transaction = "0x" + to_hex(record.transaction);
  receipt.block = record.block;
  return receipt;
}

Result<std::optional<ByteArray<32>>> read_anchored_root(const chain::RpcClient& rpc,
                                                        const chain::Address& contract,
                                                        const chain::Address& signer,
                                                        std::uint64_t publication_time) {
  CAIRN_TRY_ASSIGN(auto abi, chain::embedded_abi("Anchor"));
  const chain::abi::Function* function = abi->function("publications");
  if (function == nullptr) return fail(Errc::internal, "Anchor ABI has no publications()");
  chain::CallRequest request;
  request.to = contract;
  CAIRN_TRY_ASSIGN(request.data, function->encode_call({chain::abi::Value(signer),
                                                        chain::abi::Value(publication_time)}));
  CAIRN_TRY_ASSIGN(chain::CallOutcome outcome, rpc.eth_call(request));
  if (outcome.reverted) {
    return fail(Errc::rejected, "Anchor.publications reverted: " + outcome.node_message);
  }
  CAIRN_TRY_ASSIGN(chain::abi::ValueList values, function->decode_output(outcome.data));
  if (values.size() != 1) return fail(Errc::parse, "Anchor.publications: unexpected answer");
  CAIRN_TRY_ASSIGN(ByteArray<32> word, values[0].as_bytes32());
  if (word == ByteArray<32>{}) return std::optional<ByteArray<32>>{};
  return std::optional<ByteArray<32>>{word};
}

Status verify_anchor_on_chain(const chain::RpcClient& rpc, const AnchoredPublication& anchored) {
  CAIRN_TRY_ASSIGN(ByteArray<32> word, anchor_word(anchored.root));
  CAIRN_TRY_ASSIGN(std::uint64_t chain_id, rpc.chain_id());
  if (chain_id != anchored.chain_id) {
    return fail(Errc::integrity,
                fmt::format("chain id is {}, the record names {}", chain_id, anchored.chain_id));
  }
  CAIRN_TRY_ASSIGN(auto stored, read_anchored_root(rpc, anchored.contract, anchored.signer,
                                                   anchored.publication_time));
  if (!stored) {
    return fail(Errc::integrity,
                fmt::format("no root on chain for time {}", anchored.publication_time));
  }
  if (*stored != word) {
    return fail(Errc::integrity, "root on chain differs (0x" + to_hex(*stored) + ")");
  }
  CAIRN_TRY_ASSIGN(auto receipt, rpc.receipt(anchored.transaction));
  if (!receipt) {
    return fail(Errc::integrity,
                "transaction 0x" + to_hex(anchored.transaction) + " is not on chain");
  }
  if (!receipt->success) return fail(Errc::integrity, "the anchoring transaction reverted");
  if (receipt->block_number != anchored.block) {
    return fail(Errc::integrity, fmt::format("transaction is in block {}, the record says {}",
                                             receipt->block_number, anchored.block));
  }
  CAIRN_TRY_ASSIGN(auto abi, chain::embedded_abi("Anchor"));
  const chain::abi::Event* published = abi->event("Published");
  if (published == nullptr) return fail(Errc::internal, "Anchor ABI has no Published event");
  for (const chain::Log& log : receipt->logs) {
    if (log.address != anchored.contract || log.topics.empty() ||
        log.topics[0] != published->topic0()) {
      continue;
    }
    auto values = published->decode_log(log.topics, log.data);
    if (!values || values->size() != 3) continue;
    auto signer = (*values)[0].as_address();
    auto time = (*values)[1].as_uint();
    auto root = (*values)[2].as_bytes32();
    if (signer && time && root && *signer == anchored.signer &&
        *time == chain::U256(anchored.publication_time) && *root == word) {
      return {};
    }
  }
  return fail(Errc::integrity,
              "the transaction emitted no Published event for this signer, time and root");
}

Status check_anchor_time(const chain::RpcClient& rpc, const AnchoredPublication& anchored,
                         std::uint64_t max_delay_s, std::uint64_t clock_skew_s) {
  CAIRN_TRY_ASSIGN(const chain::BlockHeader block, rpc.block(anchored.block));
  const std::uint64_t claimed = anchored.publication_time;
  if (block.timestamp + clock_skew_s < claimed) {
    return fail(Errc::integrity,
                fmt::format("block {} is from time {}, {} s before the publication time {} it "
                            "anchors",
                            block.number, block.timestamp, claimed - block.timestamp, claimed));
  }
  if (block.timestamp > claimed && block.timestamp - claimed > max_delay_s) {
    return fail(Errc::integrity,
                fmt::format("anchored at block time {}, {} s after the publication time {} "
                            "(at most {} s allowed): the publication may be backdated",
                            block.timestamp, block.timestamp - claimed, claimed, max_delay_s));
  }
  return {};
}

}  // namespace cairn::market
