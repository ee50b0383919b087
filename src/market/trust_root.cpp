#include "market/trust_root.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "base/encoding.hpp"
#include "base/json.hpp"
#include "market/artifacts.hpp"
#include "seal/publication.hpp"

namespace cairn::market {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxPinned = 64;

template <class D>
auto named_contracts(D& trust) {
  return std::array{std::pair{"Anchor", &trust.anchor}, std::pair{"Registry", &trust.registry},
                    std::pair{"TrainingTask", &trust.training_task}};
}

}  // namespace

bool TrustRoot::pins_certificate(ByteView der) const {
  return std::ranges::any_of(calendar_certificates,
                             [&](const Bytes& pinned) { return std::ranges::equal(pinned, der); });
}

bool TrustRoot::pins_signer(const chain::Address& signer) const {
  return std::ranges::find(anchor_signers, signer) != anchor_signers.end();
}

Result<TrustRoot> parse_trust_root(ByteView text, std::string_view where) {
  return with_context(
      [&]() -> Result<TrustRoot> {
        CAIRN_TRY_ASSIGN(const json document, parse_json(text, "the trust root"));
        CAIRN_TRY_ASSIGN(JsonObject top, JsonObject::of(document));
        TrustRoot trust;
        CAIRN_TRY_ASSIGN(const std::string type, top.string("type"));
        if (type != kTrustRootType) {
          return fail(Errc::parse,
                      fmt::format("{}: is {}, not {}", top.where("type"), type, kTrustRootType));
        }
        CAIRN_TRY_ASSIGN(trust.chain_id, top.u64("chain_id", 1));
        CAIRN_TRY_ASSIGN(JsonObject contracts, top.object("contracts"));
        for (const auto& [name, target] : named_contracts(trust)) {
          CAIRN_TRY_ASSIGN(const JsonNode node, contracts.required(name));
          CAIRN_TRY_ASSIGN(*target, read_address(node));
        }
        CAIRN_TRY(contracts.close());

        CAIRN_TRY_ASSIGN(const JsonNode certificates, top.required("calendar_certificates"));
        CAIRN_TRY_ASSIGN(const auto certificate_nodes, certificates.array(kMaxPinned));
        if (certificate_nodes.empty()) {
          return std::unexpected(certificates.error("must pin at least one certificate"));
        }
        for (const JsonNode& node : certificate_nodes) {
          CAIRN_TRY_ASSIGN(Bytes der, node.hex_bytes());
          if (auto info = seal::certificate_info(der); !info) {
            return std::unexpected(node.error("not an X.509 certificate: " + info.error().message));
          }
          if (trust.pins_certificate(der)) return std::unexpected(node.error("listed twice"));
          trust.calendar_certificates.push_back(std::move(der));
        }

        CAIRN_TRY_ASSIGN(const JsonNode signers, top.required("anchor_signers"));
        CAIRN_TRY_ASSIGN(const auto signer_nodes, signers.array(kMaxPinned));
        if (signer_nodes.empty()) {
          return std::unexpected(signers.error("must pin at least one signer"));
        }
        for (const JsonNode& node : signer_nodes) {
          CAIRN_TRY_ASSIGN(const chain::Address signer, read_address(node));
          if (trust.pins_signer(signer)) return std::unexpected(node.error("listed twice"));
          trust.anchor_signers.push_back(signer);
        }

        CAIRN_TRY_ASSIGN(const auto delay,
                         top.optional_u64("max_anchor_delay_s", 1, 365ull * 24 * 3600));
        trust.max_anchor_delay_s = delay.value_or(kDefaultMaxAnchorDelaySeconds);
        CAIRN_TRY(top.close());
        return trust;
      }(),
      where);
}

TrustRoot trust_root_for(const Deployment& deployment) {
  TrustRoot trust;
  trust.chain_id = deployment.chain_id;
  trust.training_task = deployment.training_task;
  trust.registry = deployment.registry;
  trust.anchor = deployment.anchor;
  return trust;
}

std::string format_trust_root(const TrustRoot& trust) {
  json contracts = json::object();
  for (const auto& [name, address] : named_contracts(trust))
    contracts[name] = address->to_checksum();
  json certificates = json::array();
  for (const Bytes& der : trust.calendar_certificates)
    certificates.push_back(to_hex(der));
  json signers = json::array();
  for (const auto& signer : trust.anchor_signers)
    signers.push_back(signer.to_checksum());
  const json document = {
      {"type", kTrustRootType},    {"chain_id", trust.chain_id},
      {"contracts", contracts},    {"calendar_certificates", certificates},
      {"anchor_signers", signers}, {"max_anchor_delay_s", trust.max_anchor_delay_s}};
  return document.dump(2) + "\n";
}

}  // namespace cairn::market
